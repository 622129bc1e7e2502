// The jemalloc allocator environment.
import type { BuiltinProfile } from '../types';

export const jemalloc: BuiltinProfile = {
  id: 'jemalloc',
  label: 'jemalloc',
  description: 'jemalloc via LD_PRELOAD: per-thread caches, size-class arenas, returns memory by decay (purging).',
  env: {},
  soname: 'libjemalloc.so.2',
  debianPackage: 'libjemalloc2',
  tunesGlibcMalloc: false,
  family: {
    name: 'jemalloc',
    library: /^libjemalloc[\w.-]*\.so/,
    // Defined when it is linked statically (prefixed builds included: je_, _rjem_ in Rust).
    symbols: ['mallctl', 'je_mallctl', '_rjem_mallctl', 'je_malloc_stats_print'],
  },
};
