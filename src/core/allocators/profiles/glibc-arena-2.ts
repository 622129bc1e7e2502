// The glibc-arena-2 allocator environment.
import type { BuiltinProfile } from '../types';

export const glibcArena2: BuiltinProfile = {
  id: 'glibc-arena-2',
  label: 'glibc, MALLOC_ARENA_MAX=2',
  description:
    'glibc malloc limited to 2 arenas. Threads share arenas, so memory freed by one thread is reused by the ' +
    'others instead of sitting in a per-thread arena; usually far lower RSS for many-threaded services, at ' +
    'the cost of lock contention (lower throughput).',
  env: { MALLOC_ARENA_MAX: '2' },
  soname: null,
  debianPackage: null,
  tunesGlibcMalloc: true,
};
