// Deciding which frame of an allocation stack is "the user's": the top frames are the allocator, libc,
// libstdc++ and inlined library headers (new_allocator.h, stl_vector.h), none of which the user can change.
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { Frame } from './model';

const SYSTEM_MODULE = /^(\/usr)?\/lib(32|64|x32|exec)?\/|\/(libjemalloc|libtcmalloc[\w]*|libmimalloc|libc|libstdc\+\+|libgcc_s|libunwind|ld-linux[\w-]*|libheaptrack_preload|vgpreload_[\w-]+)\.so/;
// Library headers and sources: absolute system paths, glibc's relative build paths, and (massif gives only
// base names) the names of libstdc++ headers.
const SYSTEM_FILE = /^(\/usr\/(include|lib|src)\/|\.\.?\/(csu|elf|nptl|sysdeps|malloc|libio|stdlib|string)\/|\/build\/)/;
const STD_HEADER = /^(new_allocator\.h|alloc_traits\.h|allocator\.h|stl_[\w]+\.h|[\w]+\.tcc|basic_string\.h|cow_string\.h|char_traits\.h|hashtable(_policy)?\.h|shared_ptr(_base)?\.h|unique_ptr\.h|move\.h|std_function\.h|invoke\.h|new|memory|vector|string|functional|sstream|ostream|istream|streambuf|locale_facets\.h|regex[\w.]*|dl-[\w-]+\.c|libc-start\.c|libc_start_call_main\.h)$/;
const ALLOC_FUNCTION = /^(malloc|calloc|realloc|free|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|reallocarray|strdup|strndup|operator new(\[\])?|operator delete(\[\])?|__libc_[\w]+|_Znwm|_Znam|je_[\w]+|prof_[\w]+|imalloc[\w]*|ialloc[\w]*)\b/;

/** True for frames in the allocator, the C/C++ runtime or library headers. */
export function isSystemFrame(f: Frame): boolean {
  if (f.file) {
    if (SYSTEM_FILE.test(f.file)) return true;
    if (STD_HEADER.test(path.basename(f.file))) return true;
    if (f.file.includes('/c++/') || f.file.includes('/bits/')) return true;
  }
  if (f.module && SYSTEM_MODULE.test(f.module)) return true;
  if (f.function && ALLOC_FUNCTION.test(f.function)) return true;
  if (!f.file && !f.module && (!f.function || f.function === '???')) return true;
  return false;
}

const ALLOCATOR_MODULE = /\/(libjemalloc|libtcmalloc[\w]*|libmimalloc|libheaptrack_preload|vgpreload_[\w-]+)\.so/;

/** Index of the first user frame; when there is none (runtime start-up), the first frame outside the allocator. */
export function userFrameIndex(frames: Frame[]): number {
  const i = frames.findIndex((f) => !isSystemFrame(f));
  if (i >= 0) return i;
  const j = frames.findIndex((f) => !(f.module && ALLOCATOR_MODULE.test(f.module)) && !(f.function && ALLOC_FUNCTION.test(f.function)));
  return j >= 0 ? j : 0;
}

/** A stable id for a stack, from its symbolic frames (so it matches across runs despite ASLR). */
export function siteId(frames: Frame[]): string {
  const h = createHash('sha1');
  for (const f of frames) {
    const where = f.file ? `${f.file}:${f.line ?? 0}` : `${f.module ?? '?'}`;
    // Without a function or a file only the address tells frames apart; it varies between runs.
    // A module offset is the same in every run; a runtime address moves with ASLR.
    h.update(`${f.function ?? (f.file ? '' : f.offset ? `+${f.offset}` : f.address ?? '?')}@${where};`);
  }
  return h.digest('hex').slice(0, 16);
}

/** "function (file:line)" or "function (module+address)" for tables. */
export function describeFrame(f: Frame): string {
  const fn = f.function ?? '??';
  if (f.file) return `${fn} (${f.file}${f.line ? `:${f.line}` : ''})`;
  if (f.module && f.offset) return `${fn} (in ${path.basename(f.module)}+${f.offset})`;
  if (f.module) return `${fn} (in ${path.basename(f.module)}${f.address ? ` ${f.address}` : ''})`;
  return f.address ? `${fn} ${f.address}` : fn;
}
