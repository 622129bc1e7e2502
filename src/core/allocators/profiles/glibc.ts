// The glibc allocator environment.
import type { BuiltinProfile } from '../types';

export const glibc: BuiltinProfile = {
  id: 'glibc',
  label: 'glibc (default)',
  description: 'The baseline: glibc malloc with its defaults (up to 8 arenas per core, dynamic mmap threshold).',
  env: {},
  soname: null,
  debianPackage: null,
  tunesGlibcMalloc: true,
};
