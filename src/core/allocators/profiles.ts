// The built-in allocator environments. Each is data: what it adds to the target's environment, which library
// it preloads, and which Debian package provides that library.

/** A built-in profile before discovery has looked for its library. */
export interface BuiltinProfile {
  id: string;
  label: string;
  description: string;
  env: Record<string, string>;
  /** The soname looked for on the system (preload profiles only). */
  soname: string | null;
  debianPackage: string | null;
  /** The profile tunes glibc's own malloc, so it means nothing when another allocator serves malloc. */
  tunesGlibcMalloc: boolean;
}

const KiB = 1024;

export const BUILTIN_PROFILES: readonly BuiltinProfile[] = [
  {
    id: 'glibc',
    label: 'glibc (default)',
    description: 'The baseline: glibc malloc with its defaults (up to 8 arenas per core, dynamic mmap threshold).',
    env: {},
    soname: null,
    debianPackage: null,
    tunesGlibcMalloc: true,
  },
  {
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
  },
  {
    id: 'glibc-trim',
    label: 'glibc, eager trim',
    description:
      'glibc malloc returning memory sooner: trim threshold 128 KiB (free memory at the top of a heap above ' +
      'that goes back to the OS), no top pad, and mmap threshold fixed at 128 KiB (blocks from 128 KiB up are ' +
      'mmapped and unmapped on free; fixing it also stops glibc from raising the threshold to 32 MiB after ' +
      'large frees). Only the top of each heap can be trimmed: free holes in the middle stay resident. Costs ' +
      'more system calls.',
    env: {
      MALLOC_TRIM_THRESHOLD_: String(128 * KiB),
      MALLOC_TOP_PAD_: '0',
      MALLOC_MMAP_THRESHOLD_: String(128 * KiB),
    },
    soname: null,
    debianPackage: null,
    tunesGlibcMalloc: true,
  },
  {
    id: 'glibcxx-force-new',
    label: 'GLIBCXX_FORCE_NEW=1',
    description:
      'Asks libstdc++ to bypass its pool allocators and call operator new directly. On GCC 12 this affects ' +
      'only the ext/ pool allocators (__gnu_cxx::__pool_alloc, __mt_alloc); std::allocator already calls ' +
      'operator new, so ordinary containers see no difference.',
    env: { GLIBCXX_FORCE_NEW: '1' },
    soname: null,
    debianPackage: null,
    tunesGlibcMalloc: false,
  },
  {
    id: 'jemalloc',
    label: 'jemalloc',
    description: 'jemalloc via LD_PRELOAD: per-thread caches, size-class arenas, returns memory by decay (purging).',
    env: {},
    soname: 'libjemalloc.so.2',
    debianPackage: 'libjemalloc2',
    tunesGlibcMalloc: false,
  },
  {
    id: 'tcmalloc',
    label: 'tcmalloc (minimal)',
    description: "gperftools' tcmalloc (minimal build, no profiler) via LD_PRELOAD: per-thread caches and central free lists.",
    env: {},
    soname: 'libtcmalloc_minimal.so.4',
    debianPackage: 'libtcmalloc-minimal4',
    tunesGlibcMalloc: false,
  },
  {
    id: 'mimalloc',
    label: 'mimalloc',
    description: 'mimalloc via LD_PRELOAD: free-list sharding per page, memory returned eagerly.',
    env: {},
    soname: 'libmimalloc.so.2',
    debianPackage: 'libmimalloc2.0',
    tunesGlibcMalloc: false,
  },
];

/** Ids of profiles that tune glibc malloc (they cannot take effect when another allocator serves malloc). */
export const GLIBC_TUNING_IDS: ReadonlySet<string> = new Set(BUILTIN_PROFILES.filter((p) => p.tunesGlibcMalloc).map((p) => p.id));

/** Recognises an allocator library by file name; returns its family or null. */
export function allocatorFamilyOfLibrary(fileName: string): string | null {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  if (/^libjemalloc[\w.-]*\.so/.test(base)) return 'jemalloc';
  if (/^libtcmalloc[\w.-]*\.so/.test(base)) return 'tcmalloc';
  if (/^libmimalloc[\w.-]*\.so/.test(base)) return 'mimalloc';
  return null;
}

// Symbols an allocator defines when it is linked statically (prefixed builds included: je_, _rjem_ in Rust).
const STATIC_SYMBOLS: readonly [string, readonly string[]][] = [
  ['jemalloc', ['mallctl', 'je_mallctl', '_rjem_mallctl', 'je_malloc_stats_print']],
  ['tcmalloc', ['tc_malloc', 'tc_version', 'MallocExtension_GetNumericProperty']],
  ['mimalloc', ['mi_malloc', 'mi_version', 'mi_stats_print']],
];

/** Every symbol name that marks a statically linked allocator (what readElf should look up). */
export const ALLOCATOR_SYMBOLS: readonly string[] = STATIC_SYMBOLS.flatMap(([, names]) => names);

/** The allocator family whose symbols a binary defines itself, or null. */
export function allocatorFamilyOfSymbols(defined: ReadonlySet<string>): string | null {
  for (const [family, names] of STATIC_SYMBOLS) if (names.some((n) => defined.has(n))) return family;
  return null;
}

