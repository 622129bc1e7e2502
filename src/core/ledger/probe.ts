// Reading the preload probe (native/probe) from outside the target: one pread of its shared-memory file.
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import * as path from 'node:path';
import { AlloclabError } from '../errors';
import { composePreload } from '../os/env';
import type { BinaryInfo } from '../allocators/types';
import { packageRoot } from '../workers';
import {
  ALLOCATOR_KINDS,
  FLAG_ARENA_LIST,
  FLAG_FORKED,
  FLAG_SIZES,
  FLAG_STATS_THREAD,
  HEADER,
  MAP_SLOTS,
  PROBE_FILE_BYTES,
  PROBE_MAGIC,
  PROBE_VERSION,
  SAMPLING,
  SHARD,
  SLOTS,
  SLOT_COST_NS,
  STATS,
  UNWINDERS,
} from './layout';

export type ProbeAllocator = (typeof ALLOCATOR_KINDS)[number];

type StatsOf<K extends keyof typeof SLOTS> = Partial<Record<keyof (typeof SLOTS)[K], number>>;

/**
 * The process's memory map as the probe thread read it (/proc/self/smaps), with the probe's live counters summed
 * at that instant: heap = glibc's heaps ([heap] and arena heaps, glibc only), direct = glibc's directly mmapped
 * blocks (resident bytes; usable bytes and count beside), stacks = thread stacks, probe = the probe's own memory.
 */
export type ProbeMap = Partial<Record<keyof typeof MAP_SLOTS, number>>;

/** The allocator's own figures, as the probe thread last published them (fields it could not read are absent). */
export interface ProbeStats {
  /** Milliseconds since the publication (the probe publishes every ~250 ms, up to 1 s on huge heaps). */
  ageMs: number;
  publications: number;
  /** CPU time the last collection cost the probe's thread inside the target, microseconds. */
  collectionCostUs: number | null;
  /** The memory map of the same publication (null from a probe that does not read it). */
  map: ProbeMap | null;
  /**
   * glibc. From the arena list, every publication: arenas, systemBytes (obtained from the OS), topChunkBytes. From
   * mallinfo2(), a cross-check at a low rate (mallinfoAtNs says when): inUse = uordblks, free = fordblks,
   * mmapped = hblkhd, arenaBytes = arena. Without the arena list, arenas also comes from that cross-check.
   */
  glibc?: StatsOf<'glibc'>;
  /** mallctl stats.* after an epoch refresh. */
  jemalloc?: StatsOf<'jemalloc'>;
  /** MallocExtension numeric properties (generic.*, tcmalloc.*). */
  tcmalloc?: StatsOf<'tcmalloc'>;
  /** mi_process_info(): committed bytes and the process RSS as mimalloc sees it. */
  mimalloc?: StatsOf<'mimalloc'>;
}

/** The sampled heap profiler's counters in the probe's file (the sampling block), as its drain thread last published them. */
export interface ProbeSamplingReading {
  /** Mean bytes between samples. */
  intervalBytes: number;
  maxDepth: number;
  /** How stacks are captured ('none' until the drain thread first published). */
  unwinder: (typeof UNWINDERS)[number] | 'unknown';
  /** Allocations sampled so far. */
  samples: number;
  /** Samples lost because a thread's buffer was full: the profile's figures are low by about dropped / samples. */
  dropped: number;
  /** Sampled blocks still live (tracked for their frees). */
  liveTracked: number;
  /** Bytes of sample records written into the run folder so far. */
  bytesWritten: number;
}

/** One reading of the probe in a target process. */
export interface ProbeReading {
  pid: number;
  /** Set when this file belongs to a child created by fork() without exec. */
  parentPid: number | null;
  /** Sum of the usable sizes of live blocks; null when the allocator gives no malloc_usable_size. */
  liveBytes: number | null;
  allocations: number;
  frees: number;
  allocator: ProbeAllocator;
  /** The library serving malloc in the target, e.g. /usr/lib/x86_64-linux-gnu/libjemalloc.so.2. */
  allocatorPath: string;
  statsThread: boolean;
  /** glibc: the probe reads the arena list directly (a glibc version whose layout it knows). */
  arenaList: boolean;
  /** Null until the probe thread published once (about 250 ms after start), or without a probe thread. */
  stats: ProbeStats | null;
  /** The sampled heap profiler's counters; null when it does not run in this process (no interval published). */
  sampling: ProbeSamplingReading | null;
}

/** The probe library's path in this installation (built by `make -C native`). */
export function probeLibraryPath(): string {
  return path.join(packageRoot(), 'native', 'build', 'liballoclab-probe.so');
}

/** The probe library is missing: the native part of the project was not built. */
export class ProbeNotBuiltError extends AlloclabError {
  constructor(readonly library: string) {
    super(`The memory probe ${library} is missing. Build it with \`make -C native\` (needs gcc), or run without the probe.`, 'environment');
  }
}

/**
 * The variables that add the probe to an already composed target environment (`env`, e.g. from
 * composeEnvironment): LD_PRELOAD becomes the probe FIRST, then what was there (the allocator library, then the
 * user's own preloads), so the probe's next definition is the allocator under test. `shmPath` must be a fresh
 * path per target (e.g. under /dev/shm or the run folder): the first process that starts with it owns it; any
 * other (forked or exec'd children, wrappers) writes "<shmPath>.<pid>" instead.
 */
export function probeEnvironment(shmPath: string, env: Record<string, string | undefined> = {}): Record<string, string> {
  const library = probeLibraryPath();
  if (!existsSync(library)) throw new ProbeNotBuiltError(library);
  return { ALLOCLAB_PROBE_SHM: shmPath, LD_PRELOAD: composePreload([library], env.LD_PRELOAD) };
}

/** The file a process other than the first (a forked or exec'd child) writes its counts to. */
export function childProbePath(shmPath: string, pid: number): string {
  return `${shmPath}.${pid}`;
}

/** Why the probe cannot see this binary's allocations, or null when it can. */
export function probeApplies(binary: BinaryInfo): string | null {
  if (binary.isStatic) {
    return `${binary.path} is statically linked (no PT_INTERP), so the dynamic loader never runs and LD_PRELOAD, the probe's way in, is never read; the ledger falls back to procfs figures only`;
  }
  if (binary.setuidOwner !== null) {
    return `${binary.path} runs setuid/setgid, so ld.so ignores LD_PRELOAD paths with a slash; run it as its owner or use a copy without the setuid bit`;
  }
  if (binary.linkedAllocator?.endsWith('(static symbols)')) {
    return `${binary.path} defines its own malloc (${binary.linkedAllocator}); its definitions come before any preload in symbol lookup, so the probe never sees its allocations`;
  }
  return null;
}

/** The probe file was written by a probe of another layout version (an old build of native/probe, or a newer one). */
export class ProbeLayoutError extends AlloclabError {
  constructor(readonly file: string, readonly version: number) {
    super(`The memory probe's file ${file} has layout version ${version}, but this Allocator Lab reads version ${PROBE_VERSION}. Rebuild the probe with \`make -C native\` so the probe and the engine come from the same checkout.`, 'environment');
  }
}

const FILE_BYTES = PROBE_FILE_BYTES;
const scratch = Buffer.alloc(FILE_BYTES);
const seqCheck = Buffer.alloc(8);

/**
 * Reads the probe's counters from its shared-memory file: one open + pread + close, a few microseconds.
 * Null when the file does not exist (yet) or is incomplete; throws ProbeLayoutError for another layout version.
 */
export function readProbe(file: string): ProbeReading | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    // The statistics block is under a sequence lock: an odd or changed sequence means a write was under way.
    for (let attempt = 0; attempt < 4; attempt++) {
      const n = readSync(fd, scratch, 0, FILE_BYTES, 0);
      const reading = decode(scratch, n, file);
      if (reading === null) return null;
      if (reading === 'retry') continue;
      // A write may have started after the sequence was copied and before the slots were: check it again.
      if (readSync(fd, seqCheck, 0, 8, STATS.seq) === 8 && seqCheck.equals(scratch.subarray(STATS.seq, STATS.seq + 8))) return reading;
    }
    return decode(scratch, readSync(fd, scratch, 0, FILE_BYTES, 0), file, true) as ProbeReading | null;
  } finally {
    closeSync(fd);
  }
}

function decode(buf: Buffer, length: number, file: string, ignoreSeq = false): ProbeReading | null | 'retry' {
  // The magic is written last, so a file with the magic has a complete header, whatever its version.
  if (length < HEADER.allocatorPath || buf.toString('latin1', HEADER.magic, HEADER.magic + 8) !== PROBE_MAGIC) return null;
  const version = buf.readUInt32LE(HEADER.version);
  if (version !== PROBE_VERSION) throw new ProbeLayoutError(file, version);
  if (length < FILE_BYTES) return null;
  const headerSize = buf.readUInt32LE(HEADER.headerSize);
  const shardCount = buf.readUInt32LE(HEADER.shardCount);
  const shardSize = buf.readUInt32LE(HEADER.shardSize);
  if (headerSize + shardCount * shardSize > length) return null;
  const flags = buf.readUInt32LE(HEADER.flags);

  // Shards are summed in BigInt: a shard's live bytes go negative when frees happen on other threads.
  let live = 0n;
  let allocations = 0n;
  let frees = 0n;
  for (let i = 0; i < shardCount; i++) {
    const o = headerSize + i * shardSize;
    live += buf.readBigInt64LE(o + SHARD.liveBytes);
    allocations += buf.readBigUInt64LE(o + SHARD.allocations);
    frees += buf.readBigUInt64LE(o + SHARD.frees);
  }

  let stats: ProbeStats | null = null;
  const seq = buf.readBigUInt64LE(STATS.seq);
  const publications = Number(buf.readBigUInt64LE(STATS.count));
  if (seq % 2n === 1n && !ignoreSeq) return 'retry';
  const allocator = ALLOCATOR_KINDS[buf.readUInt32LE(HEADER.allocator)] ?? 'unknown';
  if (publications > 0) {
    const valid = buf.readBigUInt64LE(STATS.valid);
    // Signed: a few slots hold -1 (a jemalloc decay time of "never"); every other value is far below 2^63.
    const slot = (i: number): number | undefined =>
      (valid >> BigInt(i)) & 1n ? Number(buf.readBigInt64LE(STATS.slots + 8 * i)) : undefined;
    // Both clocks are CLOCK_MONOTONIC (libuv's hrtime), so the age is meaningful across processes.
    const ageNs = process.hrtime.bigint() - buf.readBigUInt64LE(STATS.timeNs);
    const cost = slot(SLOT_COST_NS);
    const map: ProbeMap = {};
    for (const [name, i] of Object.entries(MAP_SLOTS)) {
      const v = slot(i);
      if (v !== undefined) map[name as keyof ProbeMap] = v;
    }
    stats = {
      ageMs: Number(ageNs) / 1e6, publications, collectionCostUs: cost === undefined ? null : cost / 1000,
      map: map.anonBytes !== undefined ? map : null,
    };
    if (allocator !== 'unknown') {
      const named: Record<string, number> = {};
      for (const [name, i] of Object.entries(SLOTS[allocator])) {
        const v = slot(i);
        if (v !== undefined) named[name] = v;
      }
      stats[allocator] = named;
    }
  }
  const parentPid = buf.readInt32LE(HEADER.parentPid);
  const pathEnd = buf.indexOf(0, HEADER.allocatorPath);
  return {
    pid: buf.readInt32LE(HEADER.pid),
    parentPid: flags & FLAG_FORKED && parentPid > 0 ? parentPid : null,
    liveBytes: flags & FLAG_SIZES ? Number(live) : null,
    allocations: Number(allocations),
    frees: Number(frees),
    allocator,
    allocatorPath: buf.toString('utf8', HEADER.allocatorPath, Math.min(pathEnd < 0 ? Infinity : pathEnd, HEADER.allocatorPath + HEADER.allocatorPathBytes)),
    statsThread: (flags & FLAG_STATS_THREAD) !== 0,
    arenaList: (flags & FLAG_ARENA_LIST) !== 0,
    stats,
    sampling: decodeSampling(buf),
  };
}

function decodeSampling(buf: Buffer): ProbeSamplingReading | null {
  const interval = buf.readBigUInt64LE(SAMPLING.intervalBytes);
  // 0: sampling off; all ones: the probe parked it (sampling never started, or a forked child stopped it).
  if (interval === 0n || interval === 0xffffffffffffffffn) return null;
  const u64 = (off: number) => Number(buf.readBigUInt64LE(off));
  return {
    intervalBytes: Number(interval),
    maxDepth: buf.readUInt32LE(SAMPLING.maxDepth),
    unwinder: UNWINDERS[buf.readUInt32LE(SAMPLING.unwinder)] ?? 'unknown',
    samples: u64(SAMPLING.samples),
    dropped: u64(SAMPLING.dropped),
    liveTracked: u64(SAMPLING.liveTracked),
    bytesWritten: u64(SAMPLING.bytesWritten),
  };
}
