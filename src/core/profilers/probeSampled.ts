// The probe's sampled heap profile (native/probe/sampling.c writes samples.<pid>.bin as the target runs): stacks
// of a Poisson sample of the allocated bytes and the frees of those blocks, read into the one profile model.
// Each sample of s bytes at mean interval R was taken with probability p = 1 - exp(-s/R) (requests of R bytes or
// more always), so it stands for s/p bytes and 1/p allocations; the variance of a site's sum is the sum of
// w^2 (1 - p) over its samples, which gives `bytesError`. s is the requested size from file version 2 on (the
// probe's hot path no longer looks up usable sizes), the usable size in version 1; the bytes reported are always
// the requested ones, r/p.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { findDebugInfo, symbolsAdvice, type DebugInfo } from './debuginfo';
import { siteId, userFrameIndex } from './frames';
import { PROFILE_SCHEMA_VERSION, ProfileFormatError, type AllocationProfile, type CallSite, type Frame, type ProfileModule } from './model';
import { symbolizeObject } from './symbolize';

const MAGIC = 'ALCSAMPL';
const UNWINDERS = ['none', 'fp', 'libunwind', 'gcc'];

/** The name of the probe's sample file for a process. */
export const SAMPLE_FILE = /^samples\.(\d+)\.bin$/;

interface ModuleRecord {
  bias: number;
  segments: { vaddr: number; memsz: number; offset: number }[];
  buildId: string | null;
  path: string;
}

interface SampleEvent {
  /** ms since the probe started. */
  t: number;
  addr: number;
  /** Usable bytes (the sampled quantity); 0 for a free. */
  size: number;
  /** The bytes the program asked for. */
  request: number;
  stack: number;
}

/** A samples.<pid>.bin file as recorded (no symbols yet). */
export interface SampleFile {
  file: string;
  pid: number;
  intervalBytes: number;
  maxDepth: number;
  unwinder: string;
  stacks: Map<number, number[]>;
  events: SampleEvent[];
  modules: ModuleRecord[];
  /** ms of the last record that carries a time (a tick, a sample, the exit). */
  endMs: number;
  exited: boolean;
  samples: number;
  dropped: number;
  untracked: number;
  /** Sampled blocks still tracked for frees at the last tick (version 2 on; null before). */
  liveTracked: number | null;
  /** Bytes of the file written by the last tick, that record included (version 2 on; null before). */
  bytesWritten: number | null;
  /** The file ended inside a record (the target was killed mid-write). */
  truncated: boolean;
  /** File version: 1 sampled by usable size, 2 by requested size. */
  version: number;
}

/** Parses one sample file; a truncated last record (a killed target) is dropped, anything else corrupt throws. */
export function parseSampleFile(file: string): SampleFile {
  const b = readFileSync(file);
  if (b.length < 64 || b.toString('latin1', 0, 8) !== MAGIC) throw new ProfileFormatError(file, null, 'not a probe sample file (no ALCSAMPL header)');
  const version = b.readUInt32LE(8);
  if (version !== 1 && version !== 2) throw new ProfileFormatError(file, null, `sample file version ${version} is not known to this alloclab; update it`);
  const headerBytes = b.readUInt32LE(12);
  const startNs = b.readBigUInt64LE(32);
  const ms = (off: number) => Number(b.readBigUInt64LE(off) - startNs) / 1e6;
  const out: SampleFile = {
    file,
    pid: b.readInt32LE(40),
    intervalBytes: Number(b.readBigUInt64LE(16)),
    maxDepth: b.readUInt32LE(24),
    unwinder: 'auto',
    stacks: new Map(),
    events: [],
    modules: [],
    endMs: 0,
    exited: false,
    samples: 0,
    dropped: 0,
    untracked: 0,
    liveTracked: null,
    bytesWritten: null,
    truncated: false,
    version,
  };
  const setting = b.readUInt32LE(28);
  if (setting) out.unwinder = UNWINDERS[setting] ?? 'unknown';
  let o = headerBytes;
  while (o + 8 <= b.length) {
    const type = b.readUInt32LE(o);
    const bytes = b.readUInt32LE(o + 4);
    if (bytes < 8 || bytes % 8 !== 0) throw new ProfileFormatError(file, null, `corrupt record at byte ${o} (length ${bytes})`);
    if (o + bytes > b.length) {
      out.truncated = true;
      break;
    }
    switch (type) {
      case 1: {
        const depth = b.readUInt32LE(o + 12);
        const pcs: number[] = [];
        for (let i = 0; i < depth && o + 16 + i * 8 + 8 <= o + bytes; i++) pcs.push(Number(b.readBigUInt64LE(o + 16 + i * 8)));
        out.stacks.set(b.readUInt32LE(o + 8), pcs);
        break;
      }
      case 2: {
        const t = ms(o + 8);
        const size = Number(b.readBigUInt64LE(o + 24));
        out.events.push({ t, addr: Number(b.readBigUInt64LE(o + 16)), size, request: size - b.readUInt32LE(o + 36), stack: b.readUInt32LE(o + 32) });
        out.endMs = Math.max(out.endMs, t);
        break;
      }
      case 3: {
        const t = ms(o + 8);
        out.events.push({ t, addr: Number(b.readBigUInt64LE(o + 16)), size: 0, request: 0, stack: 0 });
        out.endMs = Math.max(out.endMs, t);
        break;
      }
      case 4: {
        const nseg = b.readUInt32LE(o + 16);
        const idlen = b.readUInt32LE(o + 20);
        const namelen = b.readUInt32LE(o + 24);
        const segments = [];
        let p = o + 32;
        for (let i = 0; i < nseg; i++, p += 24) segments.push({ vaddr: Number(b.readBigUInt64LE(p)), memsz: Number(b.readBigUInt64LE(p + 8)), offset: Number(b.readBigUInt64LE(p + 16)) });
        const buildId = idlen ? b.toString('hex', p, p + idlen) : null;
        const name = b.toString('utf8', p + idlen, p + idlen + namelen);
        out.modules.push({ bias: Number(b.readBigUInt64LE(o + 8)), segments, buildId, path: name });
        break;
      }
      case 5:
        out.endMs = Math.max(out.endMs, ms(o + 8));
        out.samples = Number(b.readBigUInt64LE(o + 16));
        out.dropped = Number(b.readBigUInt64LE(o + 24));
        out.untracked = Number(b.readBigUInt64LE(o + 32));
        if (bytes >= 56) {
          out.liveTracked = Number(b.readBigUInt64LE(o + 40));
          out.bytesWritten = Number(b.readBigUInt64LE(o + 48));
        }
        break;
      case 6:
        out.unwinder = UNWINDERS[b.readUInt32LE(o + 8)] ?? 'unknown';
        break;
      case 7:
        out.exited = true;
        out.endMs = Math.max(out.endMs, ms(o + 8));
        break;
      default:
        // A record type from a newer probe: skip it (lengths make that safe).
        break;
    }
    o += bytes;
  }
  if (o < b.length) out.truncated = true;
  return out;
}

/** The sample file of the target in a folder: the given pid's, else the first process's (lowest pid). */
export function findSampleFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((n) => SAMPLE_FILE.exec(n))
    .filter((m): m is RegExpExecArray => !!m)
    .sort((a, b) => Number(a[1]) - Number(b[1]))
    .map((m) => path.join(dir, m[0]));
}

interface Resolved {
  module: ModuleRecord | null;
  vaddr: number;
  fileOffset: number;
}

function resolvePc(pc: number, ranges: { lo: number; hi: number; mod: ModuleRecord; seg: ModuleRecord['segments'][number] }[]): Resolved {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid];
    if (pc < r.lo) hi = mid - 1;
    else if (pc >= r.hi) lo = mid + 1;
    else {
      const vaddr = pc - r.mod.bias;
      return { module: r.mod, vaddr, fileOffset: vaddr - r.seg.vaddr + r.seg.offset };
    }
  }
  return { module: null, vaddr: pc, fileOffset: pc };
}

const hex = (n: number) => '0x' + n.toString(16);

export interface ProbeReadOptions {
  /** Folders the user builds in: binaries outside them (or owned by a Debian package) get "how to get symbols". */
  workspaceRoots?: string[];
  /** The target's pid: its file is read when several processes wrote one. */
  pid?: number;
}

/** Reads the probe's samples in a folder (or one samples.<pid>.bin file) into a symbolized profile. */
export async function readProbeSampledProfile(where: string, opts: ProbeReadOptions = {}): Promise<AllocationProfile> {
  const files = SAMPLE_FILE.test(path.basename(where)) ? [where] : findSampleFiles(where);
  if (!files.length) throw new ProfileFormatError(path.join(where, 'samples.PID.bin'), null, `the probe wrote no samples (did the target start, and is it dynamically linked? a profiled run keeps its output in stdout.log and stderr.log of the environment folder, ${path.dirname(where)})`);
  const chosen = (opts.pid != null && files.find((f) => path.basename(f) === `samples.${opts.pid}.bin`)) || files[0];
  const s = parseSampleFile(chosen);
  const warnings: string[] = [];
  if (files.length > 1) warnings.push(`${files.length - 1} other process(es) of the target wrote samples too (${files.filter((f) => f !== chosen).map((f) => path.basename(f)).join(', ')}); this profile is of pid ${s.pid}.`);

  // The latest record of each module wins (a library reloaded elsewhere); ranges sorted for lookups.
  const byBias = new Map<string, ModuleRecord>();
  for (const m of s.modules) byBias.set(`${m.bias}|${m.path}`, m);
  const ranges = [...byBias.values()]
    .flatMap((mod) => mod.segments.map((seg) => ({ lo: mod.bias + seg.vaddr, hi: mod.bias + seg.vaddr + seg.memsz, mod, seg })))
    .sort((a, b) => a.lo - b.lo);

  // Symbolize every distinct return address, module by module (the call is at the address minus one).
  const pcs = new Set<number>();
  for (const st of s.stacks.values()) for (const pc of st) pcs.add(pc);
  const resolved = new Map<number, Resolved>();
  const perModule = new Map<ModuleRecord, number[]>();
  for (const pc of pcs) {
    const r = resolvePc(pc, ranges);
    resolved.set(pc, r);
    if (r.module) {
      let l = perModule.get(r.module);
      if (!l) perModule.set(r.module, (l = []));
      l.push(pc);
    }
  }
  const chains = new Map<number, Frame[]>();
  const infos = new Map<string, DebugInfo>();
  await Promise.all(
    [...perModule].map(async ([mod, list]) => {
      const info = infos.get(mod.path) ?? (await findDebugInfo(mod.path, mod.buildId));
      infos.set(mod.path, info);
      const results = info.file ? await symbolizeObject(info.file, list.map((pc) => BigInt(resolved.get(pc)!.vaddr - 1))) : [];
      list.forEach((pc, i) => {
        const r = resolved.get(pc)!;
        const base = { module: mod.path, address: hex(pc), buildId: mod.buildId, offset: hex(r.fileOffset) };
        const chain = results[i] ?? [{ function: null, file: null, line: null }];
        chains.set(pc, chain.map((c) => ({ ...c, ...base })));
      });
    }),
  );
  const frameOf = (pc: number): Frame[] => chains.get(pc) ?? [{ function: null, file: null, line: null, module: null, address: hex(pc), buildId: null, offset: null }];

  // Sweep the samples in time order: live weight per stack, sampled at evenly spaced snapshots.
  const R = s.intervalBytes;
  const endMs = Math.max(s.endMs, 1);
  const nSnap = Math.min(400, Math.max(2, Math.floor(endMs / 50) + 1));
  const times = Array.from({ length: nSnap }, (_, i) => (endMs * i) / (nSnap - 1));
  const events = [...s.events].sort((a, b) => a.t - b.t);
  interface Acc { samples: number; allocs: number; bytes: number; variance: number; live: number; liveObjects: number; peak: number; series: number[] }
  const acc = new Map<number, Acc>();
  const liveBlocks = new Map<number, { stack: number; w: number; c: number }>();
  const get = (stack: number) => {
    let a = acc.get(stack);
    if (!a) acc.set(stack, (a = { samples: 0, allocs: 0, bytes: 0, variance: 0, live: 0, liveObjects: 0, peak: 0, series: [] }));
    return a;
  };
  let next = 0;
  const snapshotUntil = (t: number) => {
    while (next < nSnap && times[next] < t) {
      for (const a of acc.values()) a.series[next] = a.live;
      next++;
    }
  };
  for (const e of events) {
    snapshotUntil(e.t);
    if (e.size > 0) {
      // Unbiased by the size the countdown ran on; reported in requested bytes, as the program sees them.
      const sampledBy = s.version >= 2 ? e.request : e.size;
      const p = sampledBy >= R ? 1 : -Math.expm1(-sampledBy / R);
      const w = e.request / p;
      const a = get(e.stack);
      a.samples++;
      a.allocs += 1 / p;
      a.bytes += w;
      a.variance += w * w * (1 - p);
      a.live += w;
      a.liveObjects += 1 / p;
      a.peak = Math.max(a.peak, a.live);
      const old = liveBlocks.get(e.addr);
      if (old) {
        // Its free was not seen (realloc in place, an untracked block): it is not live twice.
        const oa = get(old.stack);
        oa.live -= old.w;
        oa.liveObjects -= old.c;
      }
      liveBlocks.set(e.addr, { stack: e.stack, w, c: 1 / p });
    } else {
      const blk = liveBlocks.get(e.addr);
      if (!blk) continue;
      liveBlocks.delete(e.addr);
      const a = get(blk.stack);
      a.live -= blk.w;
      a.liveObjects -= blk.c;
    }
  }
  snapshotUntil(Infinity);

  const sites: CallSite[] = [];
  for (const [stack, a] of acc) {
    const frames = (s.stacks.get(stack) ?? []).flatMap(frameOf);
    const series = times.map((_, i) => Math.round(a.series[i] ?? 0));
    const error = Math.sqrt(a.variance);
    sites.push({
      id: siteId(frames),
      frames,
      userFrame: userFrameIndex(frames),
      liveBytes: series,
      peakBytes: Math.round(a.peak),
      allocations: Math.round(a.allocs),
      allocatedBytes: Math.round(a.bytes),
      leakedBytes: Math.round(Math.max(0, a.live)),
      inuseObjects: Math.round(Math.max(0, a.liveObjects)),
      bytesError: Math.round(error),
      // Fewer than about four samples: the 1-sigma error is half the estimate or more.
      belowResolution: error > 0.5 * a.bytes,
      samples: a.samples,
    });
  }
  sites.sort((x, y) => (y.allocatedBytes ?? 0) - (x.allocatedBytes ?? 0));

  if (s.truncated) warnings.push('the sample file ends inside a record (the target was killed while the probe wrote): everything up to its last full second is here.');
  if (!s.exited) warnings.push('the target did not exit on its own (stopped at the end of the run, killed, or crashed): "not freed at exit" shows what was live at its last record.');
  if (s.dropped > 0) warnings.push(`${s.dropped} of ${s.samples} samples were lost (a thread's buffer was full): figures are low by about ${((100 * s.dropped) / Math.max(1, s.samples)).toFixed(1)} %. Use a larger --interval.`);
  if (s.untracked > 0) warnings.push(`${s.untracked} sampled blocks could not be tracked for frees (the live-block table was full): they count as never freed.`);
  const modules: ProfileModule[] = [...new Map([...byBias.values()].map((m) => [m.path, m])).values()].map((m) => ({ path: m.path, buildId: m.buildId, symbols: infos.get(m.path)?.source }));
  await adviseSymbols(sites, infos, opts.workspaceRoots ?? [process.cwd()], warnings);
  return {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    backend: 'probe-sampled',
    capabilities: { growth: true, peak: true, calls: true, leaked: true },
    snapshots: times.map((t) => ({ t: Math.round(t) })),
    sites,
    sampled: true,
    warnings,
    sources: [chosen],
    modules,
    sampling: {
      intervalBytes: R, maxDepth: s.maxDepth, unwinder: s.unwinder, samples: s.samples, dropped: s.dropped, untracked: s.untracked, exited: s.exited,
      ...(s.liveTracked != null ? { liveTracked: s.liveTracked } : {}),
      ...(s.bytesWritten != null ? { bytesWritten: s.bytesWritten } : {}),
    },
  };
}

// One note per module that names sites without a source line: where symbols were looked for, and how to get them.
async function adviseSymbols(sites: CallSite[], infos: Map<string, DebugInfo>, roots: string[], warnings: string[]): Promise<void> {
  const mods = new Set<string>();
  for (const site of sites) {
    const f = site.frames[site.userFrame];
    if (f && !f.line && f.module) mods.add(f.module);
  }
  for (const m of mods) {
    const info = infos.get(m);
    if (!info) continue;
    const advice = await symbolsAdvice(m, info, roots);
    if (advice) warnings.push(advice);
  }
}
