// The tcmalloc allocator environment.
import type { BuiltinProfile } from '../types';

export const tcmalloc: BuiltinProfile = {
  id: 'tcmalloc',
  label: 'tcmalloc (minimal)',
  description: "gperftools' tcmalloc (minimal build, no profiler) via LD_PRELOAD: per-thread caches and central free lists.",
  env: {},
  soname: 'libtcmalloc_minimal.so.4',
  debianPackage: 'libtcmalloc-minimal4',
  tunesGlibcMalloc: false,
  family: {
    name: 'tcmalloc',
    library: /^libtcmalloc[\w.-]*\.so/,
    symbols: ['tc_malloc', 'tc_version', 'MallocExtension_GetNumericProperty'],
  },
};
