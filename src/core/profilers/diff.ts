// Which sites grew between two profiles of the same program (before/after a change, or two allocators).
import { rankHotspots, type Hotspot, type RankOptions } from './rank';
import type { AllocationProfile, Ranking } from './model';

export interface SiteDiff {
  function: string | null;
  file: string | null;
  line: number | null;
  before: Hotspot | null;
  after: Hotspot | null;
  /** after - before of the compared quantity (a missing side counts as 0). */
  delta: number;
}

/** Compares two profiles line by line on a ranking both support (default peak); largest increase first. */
export function diffProfiles(a: AllocationProfile, b: AllocationProfile, by: Ranking = 'peak', opts: Omit<RankOptions, 'top'> = {}): SiteDiff[] {
  const ra = rankHotspots(a, by, opts);
  const rb = rankHotspots(b, by, opts);
  // Without a line, a module offset names the code in both runs; a runtime address moves with ASLR.
  const key = (h: Hotspot) => (h.file && h.line ? `${h.function ?? ''}@${baseName(h.file)}:${h.line}` : `${h.function ?? (h.frames[h.userFrame]?.offset ? `+${h.frames[h.userFrame].offset}` : h.address)}@${h.module ?? ''}`);
  const before = new Map(ra.map((h) => [key(h), h]));
  const after = new Map(rb.map((h) => [key(h), h]));
  const out: SiteDiff[] = [];
  for (const k of new Set([...before.keys(), ...after.keys()])) {
    const x = before.get(k) ?? null;
    const y = after.get(k) ?? null;
    const h = (y ?? x)!;
    out.push({ function: h.function, file: h.file, line: h.line, before: x, after: y, delta: (y?.value ?? 0) - (x?.value ?? 0) });
  }
  return out.sort((p, q) => q.delta - p.delta);
}

// Backends name files differently (massif gives base names only), so match on base name and line.
function baseName(file: string): string {
  return file.slice(file.lastIndexOf('/') + 1);
}
