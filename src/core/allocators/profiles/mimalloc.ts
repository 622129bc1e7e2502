// The mimalloc allocator environment.
import type { BuiltinProfile } from '../types';

export const mimalloc: BuiltinProfile = {
  id: 'mimalloc',
  label: 'mimalloc',
  description: 'mimalloc via LD_PRELOAD: free-list sharding per page, memory returned eagerly.',
  env: {},
  soname: 'libmimalloc.so.2',
  debianPackage: 'libmimalloc2.0',
  tunesGlibcMalloc: false,
  family: {
    name: 'mimalloc',
    library: /^libmimalloc[\w.-]*\.so/,
    symbols: ['mi_malloc', 'mi_version', 'mi_stats_print'],
  },
};
