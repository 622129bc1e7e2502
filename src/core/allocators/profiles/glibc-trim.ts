// The glibc-trim allocator environment.
import type { BuiltinProfile } from '../types';

const KiB = 1024;

export const glibcTrim: BuiltinProfile = {
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
};
