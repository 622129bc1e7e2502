// jemalloc heap profiles: interval dumps (jeprof.PID.SEQ.iN.heap) written when MALLOC_CONF turns profiling on.
// Parsed here rather than with the jeprof script, which is slow, needs perl and re-symbolizes every file.
import { readdirSync, statSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import { forEachLine } from './lines';
import { parseMapsLine, symbolizeAddresses, type Mapping } from './symbolize';
import { siteId, userFrameIndex } from './frames';
import { peakOf, PROFILE_SCHEMA_VERSION, ProfileFormatError, type AllocationProfile, type CallSite, type Frame } from './model';

/** One stack's record in one dump: sampled counts as written (not yet unbiased). */
export interface HeapRecord {
  stack: bigint[];
  liveObjects: number;
  liveBytes: number;
  allocObjects: number;
  allocBytes: number;
}

export interface HeapDump {
  file: string;
  samplePeriod: number;
  records: HeapRecord[];
  maps: Mapping[];
}

const COUNTS = /^\s*t\*:\s*(\d+):\s*(\d+)\s*\[\s*(\d+):\s*(\d+)\s*\]\s*$/;
const THREAD_COUNTS = /^\s*t\d+:\s*\d+:\s*\d+\s*\[\s*\d+:\s*\d+\s*\]\s*$/;

/** Parses one jemalloc heap_v2 dump (streamed line by line). */
export async function parseHeapDump(file: string): Promise<HeapDump> {
  let period = 0;
  const records: HeapRecord[] = [];
  const maps: Mapping[] = [];
  let section: 'header' | 'stacks' | 'maps' = 'header';
  let pending: bigint[] | null = null;
  let sawMaps = false;
  // A bad line that turns out to be the last one means the file was cut off, which is the better message.
  let bad: { n: number; line: string } | null = null;
  const read = await forEachLine(file, (line, n) => {
    if (bad) throw new ProfileFormatError(file, bad.n, `unexpected line "${bad.line.slice(0, 60)}"`);
    if (section === 'header') {
      const m = /^heap_v2\/(\d+)$/.exec(line.trim());
      if (!m) throw new ProfileFormatError(file, n, 'not a jemalloc heap profile (expected a "heap_v2/PERIOD" first line)');
      period = Number(m[1]);
      if (!(period > 0)) throw new ProfileFormatError(file, n, 'sample period must be positive');
      section = 'stacks';
      return;
    }
    if (section === 'maps') {
      const map = parseMapsLine(line);
      if (map) maps.push(map);
      return;
    }
    if (line.startsWith('MAPPED_LIBRARIES:')) {
      section = 'maps';
      sawMaps = true;
      return;
    }
    if (line.trim() === '') return;
    if (line.startsWith('@')) {
      const parts = line.slice(1).trim().split(/\s+/);
      if (!parts.every((p) => /^0x[0-9a-fA-F]{1,16}$/.test(p))) throw new ProfileFormatError(file, n, 'bad stack line (expected "@ 0x... 0x...")');
      pending = parts.map((p) => BigInt(p));
      return;
    }
    const m = COUNTS.exec(line);
    if (m) {
      const rec = { liveObjects: Number(m[1]), liveBytes: Number(m[2]), allocObjects: Number(m[3]), allocBytes: Number(m[4]) };
      // The first t*: line is the process total; later ones belong to the stack just read.
      if (pending) records.push({ stack: pending, ...rec });
      pending = null;
      return;
    }
    if (THREAD_COUNTS.test(line)) return;
    bad = { n, line };
  });
  if (bad) throw new ProfileFormatError(file, (bad as { n: number }).n, 'the dump ends in the middle of a line: it is truncated');
  if (section === 'header') throw new ProfileFormatError(file, null, 'empty file');
  if (!sawMaps) throw new ProfileFormatError(file, null, 'no MAPPED_LIBRARIES section: the dump is truncated');
  // jemalloc copies /proc/self/maps whole, every line ended: a last line without its newline was cut off.
  if (maps.length === 0) throw new ProfileFormatError(file, read.lines, 'the MAPPED_LIBRARIES section is empty: the dump is truncated');
  if (!read.endsWithNewline) throw new ProfileFormatError(file, read.lines, 'the dump ends in the middle of its MAPPED_LIBRARIES section: it is truncated');
  return { file, samplePeriod: period, records, maps };
}

/** jeprof's correction of sampled counts: an allocation of average size s was sampled with probability 1-exp(-s/period). */
export function unbias(count: number, bytes: number, period: number): { count: number; bytes: number } {
  if (count === 0) return { count: 0, bytes: 0 };
  const scale = 1 / (1 - Math.exp(-(bytes / count) / period));
  return { count: count * scale, bytes: bytes * scale };
}

const DUMP_NAME = /^(.*)\.(\d+)\.(\d+)\.([imuf])(\d*)\.heap$/;

/** The dump files of a set: a folder, or a list of .heap files; ordered by sequence, one process (the busiest). */
export function listHeapDumps(inputs: string[]): { files: string[]; warnings: string[] } {
  const all: string[] = [];
  for (const input of inputs) {
    if (existsSync(input) && statSync(input).isDirectory()) {
      for (const name of readdirSync(input)) if (name.endsWith('.heap')) all.push(path.join(input, name));
    } else all.push(input);
  }
  const byPid = new Map<string, { file: string; seq: number }[]>();
  for (const file of all) {
    const m = DUMP_NAME.exec(path.basename(file));
    const pid = m ? m[2] : '?';
    const seq = m ? Number(m[3]) : byPid.get(pid)?.length ?? 0;
    if (m && m[4] === 'f') continue; // prof_final: what is live at exit, not a point in time we can place
    let list = byPid.get(pid);
    if (!list) byPid.set(pid, (list = []));
    list.push({ file, seq });
  }
  const warnings: string[] = [];
  let best: { file: string; seq: number }[] = [];
  for (const list of byPid.values()) if (list.length > best.length) best = list;
  if (byPid.size > 1) warnings.push(`dumps of ${byPid.size} processes found; showing the one with the most dumps (${best.length})`);
  return { files: best.sort((a, b) => a.seq - b.seq).map((x) => x.file), warnings };
}

/** Reads a set of interval dumps into one profile; snapshot times from the files' mtimes relative to `startedAtMs`. */
export async function readJeprofProfile(inputs: string[], opts: { startedAtMs?: number } = {}): Promise<AllocationProfile> {
  const { files, warnings } = listHeapDumps(inputs);
  if (files.length === 0) throw new ProfileFormatError(inputs.join(', '), null, 'no jemalloc heap dumps (jeprof.*.heap) found. The target may have allocated less than one dump interval (lower lg_prof_interval), or did not load jemalloc.');
  const dumps: HeapDump[] = [];
  for (const [i, f] of files.entries()) {
    try {
      dumps.push(await parseHeapDump(f));
    } catch (e) {
      // The last dump of a set is the one a stopped target may have been writing: leave it out, keep the others.
      if (!(e instanceof ProfileFormatError) || i !== files.length - 1 || files.length < 2 || !/truncated/.test(e.message)) throw e;
      warnings.push(`${path.basename(f)} is truncated (the target was stopped while writing it) and is left out`);
      files.pop();
    }
  }
  const mtimes = files.map((f) => statSync(f).mtimeMs);
  const origin = opts.startedAtMs ?? mtimes.reduce((a, b) => Math.min(a, b));
  // Every dump carries the maps of its moment; libraries loaded later only appear in later dumps.
  const maps = new Map<string, Mapping>();
  for (const d of dumps) for (const m of d.maps) maps.set(`${m.start}-${m.path}`, m);
  const addresses = new Set<bigint>();
  for (const d of dumps) for (const r of d.records) for (const a of r.stack) addresses.add(a);
  const symbols = await symbolizeAddresses([...addresses], [...maps.values()], { returnAddresses: true });

  const stackFrames = new Map<string, { id: string; frames: Frame[] }>();
  const sites = new Map<string, CallSite>();
  const accumSeen = dumps.some((d) => d.records.some((r) => r.allocObjects > 0));
  dumps.forEach((d, i) => {
    for (const r of d.records) {
      const key = r.stack.join(',');
      let sf = stackFrames.get(key);
      if (!sf) {
        const frames = r.stack.flatMap((a) => symbols.get(a) ?? []);
        sf = { id: siteId(frames), frames };
        stackFrames.set(key, sf);
      }
      let site = sites.get(sf.id);
      if (!site) {
        site = { id: sf.id, frames: sf.frames, userFrame: userFrameIndex(sf.frames), liveBytes: new Array(dumps.length).fill(0), peakBytes: 0, allocations: accumSeen ? 0 : null, allocatedBytes: accumSeen ? 0 : null, leakedBytes: null };
        sites.set(sf.id, site);
      }
      site.liveBytes[i] += unbias(r.liveObjects, r.liveBytes, d.samplePeriod).bytes;
      // Accumulated counts only grow; the last dump holds the totals (summed over stacks that symbolize alike).
      if (accumSeen && i === lastDumpWith(dumps, key)) {
        const acc = unbias(r.allocObjects, r.allocBytes, d.samplePeriod);
        site.allocations! += acc.count;
        site.allocatedBytes! += acc.bytes;
      }
    }
  });
  for (const s of sites.values()) {
    s.liveBytes = s.liveBytes.map(Math.round);
    s.peakBytes = peakOf(s.liveBytes);
    if (s.allocations != null) s.allocations = Math.round(s.allocations);
    if (s.allocatedBytes != null) s.allocatedBytes = Math.round(s.allocatedBytes);
  }
  if (dumps.length < 2) warnings.push('only one heap dump: growth cannot be measured; run longer or lower lg_prof_interval');
  noteMissingDebugInfo([...sites.values()], warnings);
  return {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    backend: 'jemalloc-prof',
    capabilities: { growth: dumps.length >= 2, peak: true, calls: accumSeen, leaked: false },
    snapshots: mtimes.map((m) => ({ t: Math.max(0, Math.round(m - origin)) })),
    sites: [...sites.values()],
    sampled: true,
    warnings,
    sources: files,
  };
}

const lastIndexCache = new WeakMap<HeapDump[], Map<string, number>>();
function lastDumpWith(dumps: HeapDump[], key: string): number {
  let idx = lastIndexCache.get(dumps);
  if (!idx) {
    idx = new Map();
    dumps.forEach((d, i) => d.records.forEach((r) => idx!.set(r.stack.join(','), i)));
    lastIndexCache.set(dumps, idx);
  }
  return idx.get(key) ?? -1;
}

/** Adds a warning when the user frames of the profile have no file/line (binary built without -g). */
export function noteMissingDebugInfo(sites: CallSite[], warnings: string[]): void {
  const user = sites.map((s) => s.frames[s.userFrame]).filter((f): f is Frame => !!f);
  const withLine = user.filter((f) => f.file && f.line);
  if (user.length > 0 && withLine.length === 0) {
    const mods = [...new Set(user.map((f) => f.module).filter((m): m is string => !!m))].slice(0, 3);
    warnings.push(`no source lines: ${mods.length ? mods.map((m) => path.basename(m)).join(', ') + ' ha' + (mods.length > 1 ? 've' : 's') : 'the target has'} no debug info. Sites are named by function and address; rebuild with -g (e.g. CFLAGS=-g -O2) for file and line.`);
  }
}
