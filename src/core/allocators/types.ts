// Public shapes of the allocator registry.

/** How an allocator is recognised in a binary or a process: its library's file name, or its own symbols. */
export interface AllocatorFamily {
  name: string;
  /** Matches the library's file name (without its folder). */
  library: RegExp;
  /** Symbols it defines when linked statically. */
  symbols: readonly string[];
}

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
  /** The allocator it runs the target on, when not glibc's malloc. */
  family?: AllocatorFamily;
}

/** One allocator environment a target can run under. */
export interface AllocatorProfile {
  id: string;
  label: string;
  description: string;
  /** Variables added to the target (not LD_PRELOAD). */
  env: Record<string, string>;
  /** Absolute library path for LD_PRELOAD profiles. */
  preload: string | null;
  available: boolean;
  /** Why it is unavailable and what to do, e.g. "libmimalloc.so.2 not found; apt-get install libmimalloc2.0". */
  unavailableReason: string | null;
  debianPackage: string | null;
  custom: boolean;
}

/** A user-defined environment: a library to preload, variables to set, or both. */
export interface CustomAllocatorSpec {
  id: string;
  label?: string;
  library?: string;
  env?: Record<string, string>;
  description?: string;
}

export interface DiscoveryOptions {
  custom?: CustomAllocatorSpec[];
  /** Extra folders searched (first) for the built-in libraries. */
  searchPaths?: string[];
}

/** What matters about a target binary for allocator environments. */
export interface BinaryInfo {
  path: string;
  /** No PT_INTERP: the dynamic loader never runs, so LD_PRELOAD is never read. */
  isStatic: boolean;
  /** Owner uid (setuid) or group gid (setgid only) when the binary runs with another identity than ours. */
  setuidOwner: number | null;
  /** e.g. "jemalloc (DT_NEEDED libjemalloc.so.2)" or "mimalloc (static symbols)". */
  linkedAllocator: string | null;
}
