// The allocators' habits, explained: what each allocator did with the memory a run freed, from the figures the
// probe published (Sample.allocatorStats) and the ledger. Two pure steps: allocatorSnapshots() keeps the figures
// at the moments that matter (end of the last load, end of the idle after it, the last reading) in the
// environment's metrics; allocatorHabits() turns the metrics of a run into diagnosis.habits entries.
//
// Thresholds are about what a reader would act on, not tuned to a demo: a habit is reported when the memory it
// concerns is at least MATERIAL_BYTES and MATERIAL_SHARE of RSS (smaller figures are within what any service maps
// while it runs: stacks, caches of a few MiB).
import type { AllocatorHabit, AllocatorSnapshot, EnvironmentRecord, PhaseKind, Sample } from '../model';
import { formatMiB } from '../units';

const MiB = 1024 * 1024;
const MATERIAL_BYTES = 8 * MiB;
const MATERIAL_SHARE = 0.05;
/** Memory "kept through the idle phase": at least this share of what was there at the end of the load. */
const KEPT_SHARE = 0.8;

/** The figures of the last sample at or before `t` that carries the allocator's own figures. */
function snapshotAt(samples: readonly Sample[], t: number, at: AllocatorSnapshot['at']): AllocatorSnapshot | null {
  let stats: Sample | null = null;
  let ledger: Sample | null = null;
  for (const s of samples) {
    if (s.t > t) break;
    if (s.allocatorStats) stats = s;
    if (s.liveHeapBytes != null && s.otherAnonBytes != null) ledger = s;
  }
  if (!stats?.allocatorStats) return null;
  const l = ledger ?? stats;
  return {
    at, t: stats.t, allocator: stats.allocatorStats.allocator, figures: { ...stats.allocatorStats.figures },
    rssBytes: l.rssBytes, anonBytes: l.anonBytes ?? null, liveBytes: (l.liveHeapBytes ?? 0) + (l.directMmapBytes ?? 0),
    heldBytes: l.allocatorHeldBytes ?? null, lazyFreeBytes: l.lazyFreeBytes ?? null, threads: maxThreads(samples, t),
  };
}

function maxThreads(samples: readonly Sample[], t: number): number | null {
  let m: number | null = null;
  for (const s of samples) {
    if (s.t > t) break;
    if (s.threads != null) m = Math.max(m ?? 0, s.threads);
  }
  return m;
}

/** The allocator's figures at the end of the last load phase, the end of the idle phase after it, and last. */
export function allocatorSnapshots(samples: readonly Sample[], windows: readonly { kind: PhaseKind; startMs: number; endMs: number }[]): AllocatorSnapshot[] {
  if (!samples.some((s) => s.allocatorStats)) return [];
  const lastT = samples.at(-1)!.t;
  const out: AllocatorSnapshot[] = [];
  const lastLoad = windows.filter((w) => w.kind === 'load').at(-1);
  if (lastLoad) {
    const s = snapshotAt(samples, lastLoad.endMs, 'load-end');
    if (s) out.push(s);
    const idle = windows.find((w) => w.kind === 'idle' && w.startMs >= lastLoad.endMs - 1);
    const i = idle && snapshotAt(samples, idle.endMs, 'idle-end');
    if (i && i.t > (s?.t ?? -1)) out.push(i);
  }
  const last = snapshotAt(samples, lastT, 'last');
  if (last) out.push(last);
  return out;
}

function material(bytes: number | null | undefined, rss: number): bytes is number {
  return bytes != null && bytes >= MATERIAL_BYTES && bytes >= MATERIAL_SHARE * rss;
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

/** The habits of every environment of a run that ran with the probe (diagnosis.habits). */
export function allocatorHabits(envs: readonly EnvironmentRecord[]): AllocatorHabit[] {
  const out: AllocatorHabit[] = [];
  const seen = new Set<string>();
  for (const rec of envs) {
    const snaps = rec.metrics?.allocatorSnapshots;
    if (!snaps?.length || rec.verification?.applied === false) continue;
    // One environment per id (repetitions show the same habits).
    if (seen.has(rec.env)) continue;
    seen.add(rec.env);
    const habits = habitsOf(rec, snaps, envs);
    for (const h of habits) out.push(h);
  }
  return out;
}

function habitsOf(rec: EnvironmentRecord, snaps: AllocatorSnapshot[], envs: readonly EnvironmentRecord[]): AllocatorHabit[] {
  const last = snaps.find((s) => s.at === 'last')!;
  const loadEnd = snaps.find((s) => s.at === 'load-end') ?? null;
  const idleEnd = snaps.find((s) => s.at === 'idle-end') ?? null;
  // The environment's label when it names the allocator ("glibc (default)", "as shipped: jemalloc (linked)").
  const who = rec.label.toLowerCase().includes(last.allocator) ? rec.label : `${last.allocator} (${rec.label})`;
  const out: AllocatorHabit[] = [];
  const add = (habit: string, evidence: string, advice: string | null) => out.push({ allocator: who, habit, evidence, advice });
  const f = last.figures;
  const rss = last.rssBytes;

  if (last.allocator === 'glibc') {
    const arenas = Math.max(...snaps.map((s) => s.figures.arenas ?? 0));
    const threads = Math.max(...snaps.map((s) => s.threads ?? 0));
    const held = Math.max(...snaps.map((s) => s.heldBytes ?? 0));
    if (arenas >= 3 && material(held, rss)) {
      const capped = envs.find((e) => e.env === 'glibc-arena-2' && e.metrics);
      const compare = capped?.metrics?.steadyRssBytes != null && rec.metrics?.steadyRssBytes != null
        ? ` (in this run: steady RSS ${formatMiB(capped.metrics.steadyRssBytes)} with it, ${formatMiB(rec.metrics.steadyRssBytes)} without)` : '';
      add(`${arenas} arenas for ${threads || 'its'} threads: memory freed in one arena is not reused by threads of another`,
        `${arenas} arenas (glibc makes up to 8 per core), ${threads} threads, up to ${formatMiB(held)} free but resident`,
        `MALLOC_ARENA_MAX=2 makes threads share 2 arenas, usually far less held memory at some throughput cost${compare}`);
    }
    const top = f.topChunkBytes;
    if (material(top, rss)) {
      add(`the tops of its heaps hold ${formatMiB(top)} that malloc_trim(0) would return at once`,
        `top chunks ${formatMiB(top)} of ${formatMiB(f.systemBytes ?? 0)} obtained from the OS; free chunks below a live block are only trimmed to whole pages`,
        'call malloc_trim(0) after a burst (or lower MALLOC_TRIM_THRESHOLD_); `alloclab trim PID` shows what comes back now');
    }
    if (loadEnd && idleEnd && material(loadEnd.heldBytes, loadEnd.rssBytes)) {
      const before = loadEnd.heldBytes!, after = idleEnd.heldBytes ?? before;
      const back = before > 0 ? Math.max(0, before - after) / before : 0;
      add(back < 1 - KEPT_SHARE ? 'memory did not come back after the load' : `${pct(back)} of its free memory came back after the load`,
        `held ${formatMiB(before)} at the end of the load, ${formatMiB(after)} at the end of the idle phase`,
        back < 1 - KEPT_SHARE ? 'glibc returns only the top of each heap by itself; free holes stay resident until malloc_trim(0)' : null);
    }
  }

  if (last.allocator === 'jemalloc') {
    const bg = f.backgroundThread === 1;
    if (loadEnd && idleEnd && material(loadEnd.figures.dirtyBytes, loadEnd.rssBytes)) {
      const before = loadEnd.figures.dirtyBytes!, after = idleEnd.figures.dirtyBytes ?? before;
      if (!bg && after >= KEPT_SHARE * before) {
        add('kept its dirty pages through the idle phase: without background_thread, decay runs only on allocator activity, so an idle process never purges',
          `dirty ${formatMiB(before)} at the end of the load, ${formatMiB(after)} at the end of the idle phase; background_thread off, dirty_decay_ms ${f.dirtyDecayMs ?? '?'}`,
          'MALLOC_CONF=background_thread:true purges on a timer, also when the program is idle');
      } else if (after < before) {
        add(`purged ${formatMiB(before - after)} of dirty pages during the idle phase${bg ? ' (background thread)' : ''}`,
          `dirty ${formatMiB(before)} at the end of the load, ${formatMiB(after)} at the end of the idle phase`, null);
      }
    }
    add('dirty, muzzy and retained memory',
      `dirty ${formatMiB(f.dirtyBytes ?? 0)} (free, resident until purged), muzzy ${formatMiB(f.muzzyBytes ?? 0)} (purged lazily with MADV_FREE: reclaimable), ` +
      `retained ${formatMiB(f.retainedBytes ?? 0)} (address space kept for reuse: not resident); background_thread ${bg ? 'on' : 'off'}, ` +
      `dirty_decay_ms ${f.dirtyDecayMs ?? '?'}, muzzy_decay_ms ${f.muzzyDecayMs ?? '?'}`,
      null);
  }

  if (last.allocator === 'tcmalloc') {
    const free = f.pageheapFreeBytes ?? 0;
    add('page heap free versus unmapped, and thread caches',
      `page heap free ${formatMiB(free)} (resident), unmapped ${formatMiB(f.pageheapUnmappedBytes ?? 0)} (returned to the OS), ` +
      `thread caches ${formatMiB(f.threadCacheBytes ?? 0)}, central and transfer caches ${formatMiB((f.centralCacheFreeBytes ?? 0) + (f.transferCacheFreeBytes ?? 0))}`,
      material(free, rss) ? 'TCMALLOC_RELEASE_RATE above 1 (e.g. 10) returns free spans sooner; MallocExtension::ReleaseFreeMemory() returns them now' : null);
  }

  if (last.allocator === 'mimalloc') {
    const committed = f.committedBytes ?? 0;
    const anon = last.anonBytes ?? rss;
    const delays = f.decommitDelayMs != null
      ? `; reset_delay (decommit_delay) ${f.decommitDelayMs} ms, segment_decommit_delay ${f.segmentDecommitDelayMs ?? '?'} ms` : '';
    add('committed memory versus RSS',
      `committed ${formatMiB(committed)}, anonymous RSS ${formatMiB(anon)}, live ${formatMiB(last.liveBytes)}${delays}`,
      material(committed - last.liveBytes, rss)
        ? 'MIMALLOC_RESET_DELAY=0 and MIMALLOC_SEGMENT_DECOMMIT_DELAY=0 give freed pages back sooner (more system calls)' : null);
  }

  const lazy = Math.max(...snaps.map((s) => s.lazyFreeBytes ?? 0));
  if (material(lazy, rss)) {
    add('RSS stays high, but lazily freed pages explain it: reclaimable, not retained',
      `${formatMiB(lazy)} of RSS is memory freed with MADV_FREE (LazyFree): the kernel takes it back when it needs memory`,
      null);
  }
  return out;
}
