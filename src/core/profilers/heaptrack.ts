// heaptrack traces (heaptrack -o FILE writes FILE.zst: the interpreted, symbolized event stream). Read as a
// stream: strings, instruction pointers, traces, then +/- events; live bytes per trace are sampled into
// snapshots as the trace's clock ('c' lines) advances, so "over time" comes from the trace itself.
import { forEachLine } from './lines';
import { siteId, userFrameIndex } from './frames';
import { noteMissingDebugInfo } from './jeprof';
import { PROFILE_SCHEMA_VERSION, ProfileFormatError, type AllocationProfile, type CallSite, type Frame } from './model';

interface Ip {
  address: string;
  module: number;
  /** [function, file, line] string indices, innermost inline first. */
  locations: number[];
}

export interface HeaptrackReadOptions {
  /** Minimum time between snapshots, ms (doubled whenever maxSnapshots is reached). */
  snapshotIntervalMs?: number;
  maxSnapshots?: number;
}

/** Reads a heaptrack trace (.zst, .gz or plain) into a profile with per-site peak, calls, temporary, leaked. */
export async function readHeaptrackProfile(file: string, opts: HeaptrackReadOptions = {}): Promise<AllocationProfile> {
  const maxSnapshots = opts.maxSnapshots ?? 400;
  let interval = opts.snapshotIntervalMs ?? 50;
  const strings: string[] = [];
  const ips: Ip[] = [];
  const traceIp: number[] = [];
  const traceParent: number[] = [];
  const infoSize: number[] = [];
  const infoTrace: number[] = [];
  // Per trace index (1-based; index 0 unused).
  const live: number[] = [];
  const peak: number[] = [];
  const calls: number[] = [];
  const allocated: number[] = [];
  const temporary: number[] = [];
  const series = new Map<number, number[]>();
  const times: number[] = [];
  let version = -1;
  let fileVersion = 0;
  let lastAlloc = -1;
  let now = 0;
  let nextSnapshot = 0;
  let sawEvents = false;

  const bad = (n: number, what: string): never => {
    throw new ProfileFormatError(file, n, `${what}; the heaptrack trace is corrupt`);
  };
  const hex = (s: string | undefined, n: number): number => {
    // parseInt alone is the hot path; a NaN (empty or non-hex field) is what corruption looks like here.
    const v = s === undefined ? NaN : parseInt(s, 16);
    if (v !== v) bad(n, `bad number "${s ?? ''}"`);
    return v;
  };
  const snapshot = () => {
    times.push(now);
    for (const [trace, arr] of series) arr.push(live[trace]);
    for (let t = 1; t < live.length; t++) {
      if (live[t] !== undefined && !series.has(t)) {
        const arr = new Array(times.length).fill(0);
        arr[times.length - 1] = live[t];
        series.set(t, arr);
      }
    }
    if (times.length >= maxSnapshots) {
      // Halve the resolution instead of growing without bound on long traces.
      const keep = (_: number, i: number) => i % 2 === 1 || i === times.length - 1;
      const kept = times.filter(keep);
      times.length = 0;
      times.push(...kept);
      for (const [k, arr] of series) series.set(k, arr.filter(keep));
      interval *= 2;
    }
    nextSnapshot = now + interval;
  };

  await forEachLine(file, (line, n) => {
    if (line.length === 0) return;
    const kind = line.charCodeAt(0);
    if (line.length > 1 && line.charCodeAt(1) !== 32) {
      if (kind === 35 /* # */) return;
      bad(n, `unexpected line "${line.slice(0, 40)}"`);
    }
    switch (kind) {
      case 43 /* + */: {
        const idx = hex(line.slice(2), n);
        if (idx >= infoSize.length) bad(n, `allocation ${idx} used before it was defined`);
        const t = infoTrace[idx];
        const size = infoSize[idx];
        live[t] = (live[t] ?? 0) + size;
        if (live[t] > (peak[t] ?? 0)) peak[t] = live[t];
        calls[t] = (calls[t] ?? 0) + 1;
        allocated[t] = (allocated[t] ?? 0) + size;
        lastAlloc = idx;
        sawEvents = true;
        return;
      }
      case 45 /* - */: {
        const idx = hex(line.slice(2), n);
        if (idx >= infoSize.length) bad(n, `deallocation of undefined allocation ${idx}`);
        const t = infoTrace[idx];
        live[t] = (live[t] ?? 0) - infoSize[idx];
        if (lastAlloc === idx) temporary[t] = (temporary[t] ?? 0) + 1;
        lastAlloc = -1;
        return;
      }
      case 99 /* c */: {
        now = hex(line.slice(2), n);
        if (now >= nextSnapshot) snapshot();
        return;
      }
      case 97 /* a */: {
        const [size, trace] = line.slice(2).split(' ');
        const tr = hex(trace, n);
        if (tr > traceIp.length) bad(n, `allocation refers to unknown trace ${tr}`);
        infoSize.push(hex(size, n));
        infoTrace.push(tr);
        return;
      }
      case 116 /* t */: {
        const [ip, parent] = line.slice(2).split(' ');
        const ipi = hex(ip, n);
        const pi = hex(parent, n);
        if (ipi > ips.length || pi > traceIp.length) bad(n, 'trace refers to an unknown frame');
        traceIp.push(ipi);
        traceParent.push(pi);
        return;
      }
      case 105 /* i */: {
        const parts = line.slice(2).split(' ');
        if (parts.length < 2) bad(n, 'short frame line');
        const locations = parts.slice(2).map((p) => hex(p, n));
        ips.push({ address: '0x' + parts[0], module: hex(parts[1], n), locations });
        return;
      }
      case 115 /* s */: {
        if (fileVersion >= 3) {
          const sp = line.indexOf(' ', 2);
          if (sp < 0) bad(n, 'bad string line');
          strings.push(line.slice(sp + 1));
        } else strings.push(line.slice(2));
        return;
      }
      case 118 /* v */: {
        const [v, fv] = line.slice(2).split(' ');
        version = hex(v, n);
        fileVersion = fv ? hex(fv, n) : 1;
        if (fileVersion < 2) throw new ProfileFormatError(file, n, `heaptrack file format ${fileVersion} is too old; record with heaptrack 1.2 or newer`);
        return;
      }
      default:
        // X (command line), I (system info), R (RSS), A (attached), m (modules of old formats): not needed here.
        return;
    }
  });
  if (version < 0) throw new ProfileFormatError(file, null, 'not a heaptrack trace (no version line); the file is empty, truncated or of another kind');
  if (!sawEvents) throw new ProfileFormatError(file, null, 'the trace holds no allocations (the target exited at once, or the trace was cut short)');
  if (times.length === 0 || times[times.length - 1] !== now) {
    nextSnapshot = now;
    snapshot();
  }

  const str = (i: number): string | null => (i > 0 && i <= strings.length ? strings[i - 1] : null);
  const framesOf = (trace: number): Frame[] => {
    const frames: Frame[] = [];
    for (let t = trace, guard = 0; t > 0 && guard < 512; t = traceParent[t - 1], guard++) {
      const ip = ips[traceIp[t - 1] - 1];
      if (!ip) break;
      const module = str(ip.module);
      const locs = ip.locations;
      if (locs.length === 0) frames.push({ function: null, file: null, line: null, module, address: ip.address });
      // The first location has function [file line]; inlined callers follow as full triplets.
      const first = locs.length >= 3 ? 3 : locs.length;
      if (locs.length > 0) frames.push({ function: str(locs[0]), file: first === 3 ? str(locs[1]) : null, line: first === 3 ? locs[2] || null : null, module, address: ip.address });
      for (let j = first; j + 2 < locs.length; j += 3) {
        frames.push({ function: str(locs[j]), file: str(locs[j + 1]), line: locs[j + 2] || null, module, address: ip.address });
      }
    }
    return frames;
  };

  const sites = new Map<string, CallSite>();
  for (let t = 1; t < live.length; t++) {
    if (calls[t] === undefined) continue;
    const frames = framesOf(t);
    const id = siteId(frames);
    const liveBytes = series.get(t) ?? new Array(times.length).fill(0);
    const existing = sites.get(id);
    if (existing) {
      existing.liveBytes = existing.liveBytes.map((v, i) => v + liveBytes[i]);
      existing.peakBytes = Math.max(existing.peakBytes, peak[t] ?? 0);
      existing.allocations! += calls[t];
      existing.allocatedBytes! += allocated[t];
      existing.leakedBytes! += live[t];
      existing.temporaryAllocations! += temporary[t] ?? 0;
      continue;
    }
    sites.set(id, {
      id,
      frames,
      userFrame: userFrameIndex(frames),
      liveBytes,
      peakBytes: peak[t] ?? 0,
      allocations: calls[t],
      allocatedBytes: allocated[t],
      leakedBytes: live[t],
      temporaryAllocations: temporary[t] ?? 0,
    });
  }
  const warnings: string[] = [];
  noteMissingDebugInfo([...sites.values()], warnings);
  return {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    backend: 'heaptrack',
    capabilities: { growth: times.length >= 2, peak: true, calls: true, leaked: true },
    snapshots: times.map((t) => ({ t })),
    sites: [...sites.values()],
    sampled: false,
    warnings,
    sources: [file],
  };
}
