// valgrind massif output (massif.out.PID): snapshots of the heap; detailed ones carry an allocation tree whose
// root-to-leaf paths are the allocation stacks (innermost first). Record with --detailed-freq=1 and
// --time-unit=ms so every snapshot has a tree and a time.
import { forEachLine } from './lines';
import { siteId, userFrameIndex } from './frames';
import { noteMissingDebugInfo } from './jeprof';
import { peakOf, PROFILE_SCHEMA_VERSION, ProfileFormatError, type AllocationProfile, type CallSite, type Frame } from './model';

const NODE = /^( *)n(\d+): (\d+) (.*)$/;
const FRAME = /^(0x[0-9A-Fa-f]+): (.*?)(?: \(([^()]*)\))?$/;

/** Parses one massif tree node label into a frame (null for the root and the "below threshold" nodes). */
export function parseMassifFrame(label: string): Frame | null {
  const m = FRAME.exec(label);
  if (!m) return null;
  const fn = m[2] === '???' ? null : m[2];
  const where = m[3] ?? '';
  if (where.startsWith('in ')) return { function: fn, file: null, line: null, module: where.slice(3), address: m[1].toLowerCase() };
  const fl = /^(.*):(\d+)$/.exec(where);
  return { function: fn, file: fl ? fl[1] : null, line: fl ? Number(fl[2]) : null, module: null, address: m[1].toLowerCase() };
}

/** Reads a massif.out file into a profile (live bytes per detailed snapshot, per stack). */
export async function readMassifProfile(file: string): Promise<AllocationProfile> {
  let timeUnit: string | null = null;
  let sawDesc = false;
  const times: number[] = [];
  const sites = new Map<string, CallSite>();
  let time = 0;
  let detailed = false;
  // Open tree path: frames by depth, and how many children each open node still expects.
  let path: (Frame | null)[] = [];
  let expecting: number[] = [];
  const addLeaf = (bytes: number, n: number) => {
    const frames = path.slice(1).filter((f): f is Frame => f !== null);
    if (frames.length === 0 || path.slice(1).some((f) => f === null)) return;
    const id = siteId(frames);
    let site = sites.get(id);
    if (!site) {
      site = { id, frames, userFrame: userFrameIndex(frames), liveBytes: [], peakBytes: 0, allocations: null, allocatedBytes: null, leakedBytes: null };
      sites.set(id, site);
    }
    const k = times.length - 1;
    if (k < 0) throw new ProfileFormatError(file, n, 'heap tree outside a snapshot');
    while (site.liveBytes.length < k) site.liveBytes.push(0);
    if (site.liveBytes.length === k) site.liveBytes.push(0);
    site.liveBytes[k] += bytes;
  };
  const closeFinished = () => {
    while (expecting.length > 0 && expecting[expecting.length - 1] === 0) {
      expecting.pop();
      path.pop();
    }
  };
  await forEachLine(file, (line, n) => {
    if (expecting.length > 0) {
      const m = NODE.exec(line);
      if (!m) throw new ProfileFormatError(file, n, 'heap tree ends early: the massif file is truncated or corrupt');
      const depth = m[1].length;
      // Closed nodes are popped eagerly, so the open path must be exactly as deep as this node's indentation.
      if (depth === 0 || expecting.length !== depth) throw new ProfileFormatError(file, n, 'heap tree does not match its child counts');
      expecting[depth - 1]--;
      const children = Number(m[2]);
      path.push(parseMassifFrame(m[4]));
      expecting.push(children);
      if (children === 0) addLeaf(Number(m[3]), n);
      closeFinished();
      return;
    }
    if (line.startsWith('desc:')) {
      sawDesc = true;
      return;
    }
    if (!sawDesc) throw new ProfileFormatError(file, n, 'not a massif output file (expected "desc:" first)');
    if (line.startsWith('time_unit:')) timeUnit = line.slice(10).trim();
    else if (line.startsWith('time=')) {
      time = Number(line.slice(5));
      if (!Number.isFinite(time)) throw new ProfileFormatError(file, n, 'bad time');
    } else if (line.startsWith('heap_tree=')) {
      detailed = line.slice(10).trim() !== 'empty';
      if (detailed) times.push(time);
    } else if (NODE.test(line)) {
      if (!detailed) throw new ProfileFormatError(file, n, 'heap tree in a snapshot not marked detailed');
      path = [];
      expecting = [];
      const m = NODE.exec(line)!;
      if (m[1].length !== 0) throw new ProfileFormatError(file, n, 'heap tree must start at its root');
      path.push(null);
      expecting.push(Number(m[2]));
      closeFinished();
    } else if (!/^(#-+|snapshot=\d+|mem_[A-Za-z_]+=\d+|cmd:.*|)$/.test(line)) {
      throw new ProfileFormatError(file, n, `unexpected line "${line.slice(0, 60)}"`);
    }
  });
  if (!sawDesc) throw new ProfileFormatError(file, null, 'empty file');
  if (expecting.length > 0) throw new ProfileFormatError(file, null, 'heap tree ends early: the massif file is truncated');
  if (times.length === 0) throw new ProfileFormatError(file, null, 'no detailed snapshots; record with --detailed-freq=1');
  for (const s of sites.values()) {
    while (s.liveBytes.length < times.length) s.liveBytes.push(0);
    s.peakBytes = peakOf(s.liveBytes);
  }
  const warnings: string[] = [];
  const timed = timeUnit === 'ms';
  if (!timed) warnings.push(`recorded with --time-unit=${timeUnit ?? '?'}: snapshot times are not milliseconds, so growth per minute is unavailable; record with --time-unit=ms`);
  noteMissingDebugInfo([...sites.values()], warnings);
  return {
    schemaVersion: PROFILE_SCHEMA_VERSION,
    backend: 'massif',
    capabilities: { growth: timed && times.length >= 2, peak: true, calls: false, leaked: false },
    snapshots: times.map((t) => ({ t })),
    sites: [...sites.values()],
    sampled: false,
    warnings,
    sources: [file],
  };
}
