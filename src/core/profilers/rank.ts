// Ranking call sites: which lines grow, peak, allocate most often, or leak. Sites sharing a user line are
// merged by default (a helper called from two places is one line to fix).
import { peakOf, UnsupportedRankingError, RANKINGS, type AllocationProfile, type CallSite, type Frame, type Ranking } from './model';

export interface TimeWindow {
  startMs: number;
  endMs: number;
}

export interface RankOptions {
  /** Only snapshots inside these windows count for growth (the load phases); default all. */
  windows?: TimeWindow[];
  top?: number;
  /** 'line' merges stacks that share their user frame; 'stack' keeps every stack apart. */
  groupBy?: 'line' | 'stack';
}

export interface Hotspot {
  rank: number;
  /** The ranked quantity (bytes/min, bytes, count, bytes). */
  value: number;
  siteIds: string[];
  function: string | null;
  file: string | null;
  line: number | null;
  module: string | null;
  address: string | null;
  /** The full stack of the largest merged site, innermost first, and the user frame's index in it. */
  frames: Frame[];
  userFrame: number;
  growthBytesPerMin: number | null;
  peakBytes: number;
  allocations: number | null;
  allocatedBytes: number | null;
  leakedBytes: number | null;
  /** Sampled profiles: 1-sigma error of allocatedBytes (members' errors combined). */
  bytesError?: number;
  /** Sampled profiles: too few samples at this interval to rank it; its figures are estimates, never zero. */
  belowResolution?: boolean;
}

/** Least-squares slope of y over t (ms), in units per minute; null with fewer than two distinct times. */
export function slopePerMinute(t: number[], y: number[]): number | null {
  const n = t.length;
  if (n < 2) return null;
  let st = 0, sy = 0;
  for (let i = 0; i < n; i++) {
    st += t[i];
    sy += y[i];
  }
  const mt = st / n;
  const my = sy / n;
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += (t[i] - mt) * (y[i] - my);
    den += (t[i] - mt) ** 2;
  }
  return den === 0 ? null : (num / den) * 60_000;
}

/** Rankings this profile supports. */
export function supportedRankings(profile: AllocationProfile): Ranking[] {
  return RANKINGS.filter((r) => profile.capabilities[r]);
}

/** Ranks the profile's sites by growth (default), peak, calls or leaked; throws for unsupported rankings. */
export function rankHotspots(profile: AllocationProfile, by: Ranking = 'growth', opts: RankOptions = {}): Hotspot[] {
  if (!profile.capabilities[by]) throw new UnsupportedRankingError(profile.backend, by, supportedRankings(profile));
  const inWindow = profile.snapshots.map((s) => !opts.windows?.length || opts.windows.some((w) => s.t >= w.startMs && s.t <= w.endMs));
  // Snapshots before the target's first allocation (valgrind starting up) say nothing about its growth.
  for (let i = 0; i < inWindow.length && profile.sites.every((s) => !s.liveBytes[i]); i++) inWindow[i] = false;
  thinBursts(profile.snapshots.map((s) => s.t), inWindow);
  // Without load windows, skip the first fifth of the recording: start-up fills (caches, pools) are a step, not
  // growth, and with few snapshots a step at the start outweighs a steady leak in a least-squares fit.
  if (!opts.windows?.length) skipStartup(profile.snapshots.map((s) => s.t), inWindow, 0.2);
  const times = profile.snapshots.map((s) => s.t).filter((_, i) => inWindow[i]);
  const groups = new Map<string, CallSite[]>();
  for (const site of profile.sites) {
    const key = opts.groupBy === 'stack' ? site.id : lineKey(site);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(site);
  }
  const rows: Hotspot[] = [];
  for (const members of groups.values()) {
    const main = members.reduce((a, b) => (b.peakBytes > a.peakBytes ? b : a));
    const live = profile.snapshots.map((_, i) => members.reduce((s, m) => s + (m.liveBytes[i] ?? 0), 0));
    const growth = profile.capabilities.growth ? slopePerMinute(times, live.filter((_, i) => inWindow[i])) : null;
    const sumOrNull = (f: (s: CallSite) => number | null) => (members.every((m) => f(m) == null) ? null : members.reduce((s, m) => s + (f(m) ?? 0), 0));
    // Members' peaks may fall at different moments: the peak of their sum is at least the largest member peak.
    const peakBytes = Math.max(peakOf(live), peakOf(members.map((m) => m.peakBytes)));
    const f = main.frames[main.userFrame] ?? { function: null, file: null, line: null, module: null, address: null };
    const row: Hotspot = {
      rank: 0,
      value: 0,
      siteIds: members.map((m) => m.id),
      function: f.function,
      file: f.file,
      line: f.line,
      module: f.module,
      address: f.address,
      frames: main.frames,
      userFrame: main.userFrame,
      growthBytesPerMin: growth,
      peakBytes,
      allocations: sumOrNull((s) => s.allocations),
      allocatedBytes: sumOrNull((s) => s.allocatedBytes),
      leakedBytes: sumOrNull((s) => s.leakedBytes),
    };
    if (members.some((m) => m.bytesError != null)) {
      row.bytesError = Math.round(Math.sqrt(members.reduce((a, m) => a + (m.bytesError ?? 0) ** 2, 0)));
      row.belowResolution = row.bytesError > 0.5 * (row.allocatedBytes ?? 0);
    }
    row.value = { growth: row.growthBytesPerMin, peak: row.peakBytes, calls: row.allocations, leaked: row.leakedBytes }[by] ?? 0;
    rows.push(row);
  }
  rows.sort((a, b) => b.value - a.value || b.peakBytes - a.peakBytes);
  rows.forEach((r, i) => (r.rank = i + 1));
  return opts.top != null ? rows.slice(0, opts.top) : rows;
}

// jemalloc dumps by bytes allocated, so a burst of allocation (a cache filled at start) writes many dumps within
// milliseconds; least squares would weigh that instant like a long stretch of the run. Keep the last snapshot of
// each hundredth of the span: a burst counts once, and a steady stream of dumps keeps its shape.
function thinBursts(t: number[], keep: boolean[]): void {
  const idx = keep.map((k, i) => (k ? i : -1)).filter((i) => i >= 0);
  if (idx.length < 3) return;
  const t0 = t[idx[0]];
  const bucket = (t[idx[idx.length - 1]] - t0) / 100;
  if (bucket <= 0) return;
  for (let j = 0; j + 1 < idx.length; j++) {
    if (Math.floor((t[idx[j + 1]] - t0) / bucket) === Math.floor((t[idx[j]] - t0) / bucket)) keep[idx[j]] = false;
  }
}

function skipStartup(t: number[], keep: boolean[], share: number): void {
  const idx = keep.map((k, i) => (k ? i : -1)).filter((i) => i >= 0);
  if (idx.length < 6) return;
  const from = t[idx[0]] + (t[idx[idx.length - 1]] - t[idx[0]]) * share;
  for (const i of idx) if (t[i] < from) keep[i] = false;
}

function lineKey(site: CallSite): string {
  const f = site.frames[site.userFrame];
  if (!f) return site.id;
  if (f.file && f.line) return `${f.function ?? ''}@${f.file}:${f.line}`;
  // No line information: the function (or, with no symbol either, the address) in its module.
  return `${f.function ?? (f.offset ? `+${f.offset}` : f.address) ?? site.id}@${f.module ?? ''}`;
}
