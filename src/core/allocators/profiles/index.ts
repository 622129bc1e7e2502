// The built-in allocator environments: one file each, listed here in the order they are offered. A new
// allocator is one file in this folder plus one line in BUILTIN_PROFILES.
import type { BuiltinProfile } from '../types';
import { asShipped } from './as-shipped';
import { glibc } from './glibc';
import { glibcArena2 } from './glibc-arena-2';
import { glibcTrim } from './glibc-trim';
import { glibcxxForceNew } from './glibcxx-force-new';
import { jemalloc } from './jemalloc';
import { mimalloc } from './mimalloc';
import { tcmalloc } from './tcmalloc';

export type { BuiltinProfile } from '../types';

export const BUILTIN_PROFILES: readonly BuiltinProfile[] = [
  glibc,
  glibcArena2,
  glibcTrim,
  glibcxxForceNew,
  jemalloc,
  tcmalloc,
  mimalloc,
  asShipped,
];

/** Ids of profiles that tune glibc malloc (they cannot take effect when another allocator serves malloc). */
export const GLIBC_TUNING_IDS: ReadonlySet<string> = new Set(BUILTIN_PROFILES.filter((p) => p.tunesGlibcMalloc).map((p) => p.id));

const FAMILIES = BUILTIN_PROFILES.flatMap((p) => (p.family ? [p.family] : []));

/** Recognises an allocator library by file name; returns its family or null. */
export function allocatorFamilyOfLibrary(fileName: string): string | null {
  const base = fileName.slice(fileName.lastIndexOf('/') + 1);
  return FAMILIES.find((f) => f.library.test(base))?.name ?? null;
}

/** Every symbol name that marks a statically linked allocator (what readElf should look up). */
export const ALLOCATOR_SYMBOLS: readonly string[] = FAMILIES.flatMap((f) => f.symbols);

/** The allocator family whose symbols a binary defines itself, or null. */
export function allocatorFamilyOfSymbols(defined: ReadonlySet<string>): string | null {
  return FAMILIES.find((f) => f.symbols.some((n) => defined.has(n)))?.name ?? null;
}
