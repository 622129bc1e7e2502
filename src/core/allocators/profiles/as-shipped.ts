// The binary as it ships: no preload, on the allocator it links itself. Offered in place of glibc for binaries
// that link an allocator (their glibc row stays, "not applied", with its reason); shippedEnvironments() labels it.
import type { BuiltinProfile } from '../types';

export const asShipped: BuiltinProfile = {
  id: 'as-shipped',
  label: 'as shipped',
  description: 'The binary as it ships, on the allocator it links itself (no preload): the baseline for a binary that does not run on glibc malloc.',
  env: {},
  soname: null,
  debianPackage: null,
  tunesGlibcMalloc: false,
};
