// Settle, then stop: when a phase's live samples say what it is there to show is decided.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PhaseKind, Sample } from '../../../src/core/model';
import { comparisonReference, PhaseSettler, type ComparisonReference } from '../../../src/core/analysis/settle';

const MiB = 1024 * 1024;

/** Samples every 50 ms over [0, endMs] of rss(t), with a little deterministic jitter. */
function series(endMs: number, rss: (t: number) => number, live?: (t: number) => number): Sample[] {
  const out: Sample[] = [];
  let seed = 12345;
  for (let t = 0; t <= endMs; t += 50) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const jitter = ((seed / 2147483648) - 0.5) * 0.2 * MiB;
    out.push({ t, rssBytes: Math.round(rss(t) + jitter), ...(live ? { liveHeapBytes: Math.round(live(t)) } : {}) });
  }
  return out;
}

/** Checks once a second, as the runner does; the first time the phase is settled (ms), or null. */
function firstSettled(kind: PhaseKind, samples: Sample[], endMs: number, opts: ConstructorParameters<typeof PhaseSettler>[2] = {}): { at: number; why: string; on?: string } | null {
  const settler = new PhaseSettler(kind, 0, opts);
  for (let now = 1000; now <= endMs; now += 1000) {
    const check = settler.check(samples.filter((s) => s.t <= now), now);
    if (check.settled) return { at: now, why: check.why, on: check.on };
  }
  return null;
}

test('a flat load phase settles within seconds, as flat', () => {
  const s = series(60_000, () => 50 * MiB);
  const r = firstSettled('load', s, 60_000);
  assert.ok(r, 'never settled');
  assert.ok(r.at <= 15_000, `settled only after ${r.at} ms`);
  assert.match(r.why, /RSS flat/);
  assert.equal(r.on, 'class');
});

test('a leak settles as rising, but only after rising has held for 15 s', () => {
  const s = series(60_000, (t) => 20 * MiB + (t / 1000) * 2 * MiB);
  const r = firstSettled('load', s, 60_000);
  assert.ok(r, 'never settled');
  assert.match(r.why, /RSS rising/);
  assert.ok(r.at >= 15_000 && r.at <= 40_000, `settled at ${r.at} ms`);
});

test('a cache that fills for 10 s is seen levelling off, never settled as rising', () => {
  const s = series(60_000, (t) => 10 * MiB + Math.min(t, 10_000) / 1000 * 3 * MiB);
  const r = firstSettled('load', s, 60_000);
  assert.ok(r, 'never settled');
  assert.doesNotMatch(r.why, /rising/);
  assert.match(r.why, /levelling-off|flat/);
});

test('with the ledger the live heap must settle too', () => {
  // RSS flat, live heap still undecided (it wanders widely) within the window: not settled while it is open.
  const s = series(8000, () => 50 * MiB, (t) => 10 * MiB + (t % 2000 < 1000 ? 0 : 8 * MiB));
  const settler = new PhaseSettler('load', 0);
  const check = settler.check(s, 8000);
  assert.equal(check.settled, false);
  assert.match(check.why, /live heap/);
});

test('a warm-up that still rises does not settle; start-up over does', () => {
  assert.equal(firstSettled('warmup', series(30_000, (t) => 10 * MiB + (t / 1000) * 2 * MiB), 30_000), null);
  const over = firstSettled('warmup', series(30_000, (t) => 10 * MiB + Math.min(t, 2000) / 1000 * 5 * MiB), 30_000);
  assert.ok(over, 'a warm-up whose ramp ended never settled');
});

test('an idle phase settles once memory stops coming back, not while it falls', () => {
  assert.equal(firstSettled('idle', series(20_000, (t) => 200 * MiB - (t / 1000) * 5 * MiB), 20_000), null);
  const done = firstSettled('idle', series(30_000, (t) => 200 * MiB - Math.min(t, 3000) / 1000 * 30 * MiB), 30_000);
  assert.ok(done, 'never settled after memory came back');
});

test('an idle phase in which nothing comes back settles as level, and its level below zero (read upside down) is not a swing', () => {
  const r = firstSettled('idle', series(30_000, () => 300 * MiB), 30_000);
  assert.ok(r, 'never settled');
  assert.match(r.why, /RSS level \(nothing coming back\)/);
});

test('a phase that its bound cannot decide ends as undecided, once that has held; a warm-up never does', () => {
  // Swings of ±15 % every 13 s: within a 40 s bound no interval gets inside the band, and the trajectory's own
  // estimate says so; running to the bound would end the phase undecided all the same.
  const swing = series(40_000, (t) => 100 * MiB + 15 * MiB * Math.sin((2 * Math.PI * t) / 13_000));
  const boundAt = (kind: PhaseKind) => {
    const settler = new PhaseSettler(kind, 0, { boundMs: 40_000 });
    for (let now = 1000; now < 40_000; now += 1000) {
      const check = settler.check(swing.filter((s) => s.t <= now), now);
      if (check.settled) return { at: now, why: check.why, undecided: check.undecided, on: check.on };
    }
    return null;
  };
  const load = boundAt('load');
  assert.ok(load, 'ran to its bound');
  assert.ok(load.at >= 10_000, `decided from too few points: ${load.at} ms`);
  assert.match(load.why, /undecided .*past the phase's bound/);
  assert.equal(load.undecided, true);
  assert.equal(load.on, 'undecided');
  assert.equal(boundAt('warmup'), null);
  // Without a bound the same series runs on.
  assert.equal(firstSettled('load', swing, 39_000)?.why.includes('past the'), undefined);
});

test('an idle phase whose bound is too short for any class runs to its bound (its figures are what came back)', () => {
  const settler = new PhaseSettler('idle', 0, { boundMs: 8000 });
  const flat = series(8000, () => 300 * MiB);
  for (let now = 1000; now < 8000; now += 1000) assert.equal(settler.check(flat.filter((s) => s.t <= now), now).settled, false, `stopped at ${now} ms`);
});

test('a cache filling towards its bound ever more slowly is not settled as rising (a leak) while it slows', () => {
  // Per-second medians of Debian's redis-server under redis-benchmark (random keys over a 200,000-key space, as
  // shipped; recorded, MiB): the keyspace fills ever more slowly. Settled as rising at 25 s, this run was called a
  // leak; run on, it levels off at 152 MiB (application memory).
  const mib = [25.5, 48.0, 69.9, 86.6, 99.9, 111.7, 120.1, 126.9, 132.1, 136.1, 139.5, 142.2, 144.3, 146.0, 147.4, 148.4, 149.3,
    150.0, 150.6, 151.2, 151.6, 151.9, 152.2, 152.3, 152.4, 152.5];
  const samples: Sample[] = [];
  for (let t = 0; t <= (mib.length - 1) * 1000; t += 250) {
    const i = Math.floor(t / 1000), f = t / 1000 - i;
    samples.push({ t, rssBytes: Math.round((mib[i] + (mib[Math.min(i + 1, mib.length - 1)] - mib[i]) * f) * MiB) });
  }
  const settler = new PhaseSettler('load', 0);
  for (let now = 1000; now <= 25_000; now += 1000) {
    const check = settler.check(samples.filter((s) => s.t <= now), now);
    assert.ok(!(check.settled && /rising/.test(check.why)), `settled as rising at ${now} ms: ${check.why}`);
  }
});

// The comparison. A load that steps between levels at random (7 s steps of 0 to 32 MiB over 100 MiB) is undecided as a
// class within 60 s: only the comparison can settle it.
const steps = series(60_000, (t) => 100 * MiB + ((Math.floor(t / 7000) * 7919) % 5) * 8 * MiB);
const level = (mib: number): ComparisonReference => ({ label: 'glibc', levelBytes: mib * MiB, rising: false, growthIntervalBytesPerMin: [-MiB, MiB] });
const rise = (mib: number, lo: number, hi: number): ComparisonReference => ({ label: 'glibc', levelBytes: mib * MiB, rising: true, growthIntervalBytesPerMin: [lo * MiB, hi * MiB] });
const compared = (s: Sample[], references: ComparisonReference[]) => firstSettled('load', s, 60_000, { boundMs: 60_000, references });

test('a load phase far below an earlier allocator\'s level, wherever its growth interval takes it by the bound, settles on the comparison', () => {
  assert.equal(compared(steps, []), null, 'the class alone settled it: the case tests nothing');
  const r = compared(steps, [level(500)]);
  assert.ok(r, 'never settled');
  assert.ok(r.at >= 10_000, `compared from too few points: ${r.at} ms`);
  assert.match(r.why, /RSS at most [\d.]+ MiB by the bound, at most half of glibc's 500\.0 MiB/);
  assert.equal(r.on, 'comparison');
  // Below a rise, growth far slower than it is the allocator's difference too.
  assert.match(compared(steps, [rise(500, 100, 140)])?.why ?? '', /at most half of glibc's/);
});

test('a load phase not far enough apart from the earlier ones does not settle on the comparison', () => {
  // 150 MiB: the higher level is not twice the lower; most of it would be the program's own.
  assert.equal(compared(steps, [level(150)]), null);
});

test('a load phase far above an earlier allocator\'s level settles on the comparison', () => {
  const high = series(60_000, (t) => 400 * MiB + ((Math.floor(t / 7000) * 7919) % 5) * 16 * MiB);
  assert.equal(compared(high, []), null);
  assert.match(compared(high, [level(100)])?.why ?? '', /RSS at least [\d.]+ MiB by the bound, at least twice glibc's 100\.0 MiB/);
});

test('a leak far below a rise of the same rate is not settled on the comparison: two rises alike may be one leak', () => {
  const leak = series(60_000, (t) => 20 * MiB + (t / 1000) * 2 * MiB);
  const r = compared(leak, [rise(500, 100, 140)]);
  assert.ok(r, 'never settled');
  assert.match(r.why, /RSS rising/);
  assert.doesNotMatch(r.why, /at most half/);
  // Below a level, a rise of its own is not the comparison's either.
  assert.doesNotMatch(compared(leak, [level(5000)])?.why ?? '', /at most half/);
});

test('the comparison settles RSS only: the live heap must settle as a class too (a leak is read from it)', () => {
  // RSS far below, its live heap stepping at random: settled only once the live heap has a class of its own.
  const wandering = series(40_000, () => 50 * MiB, (t) => 10 * MiB + ((Math.floor(t / 7000) * 7919) % 5) * 2 * MiB);
  const r = firstSettled('load', wandering, 40_000, { boundMs: 60_000, references: [level(500)] });
  assert.ok(!r || /live heap (flat|levelling-off|oscillating|falling|rising|undecided)/.test(r.why), `settled without the live heap's class: ${r?.why}`);
});

test('a finished load phase leaves its level for the comparison: the steady level, or where a rise left it', () => {
  const flat = comparisonReference('tcmalloc', series(30_000, () => 120 * MiB), 0, 30_000);
  assert.ok(flat);
  assert.equal(flat.rising, false);
  assert.ok(Math.abs(flat.levelBytes - 120 * MiB) < MiB, `level ${flat.levelBytes / MiB} MiB`);
  const leak = comparisonReference('glibc', series(30_000, (t) => 100 * MiB + (t / 1000) * 4 * MiB), 0, 30_000);
  assert.ok(leak);
  assert.equal(leak.rising, true);
  assert.ok(leak.levelBytes > 210 * MiB, `a rise is priced where it ended, not at its median: ${leak.levelBytes / MiB} MiB`);
  assert.ok(leak.growthIntervalBytesPerMin && leak.growthIntervalBytesPerMin[0] > 200 * MiB);
  assert.equal(comparisonReference('none', [], 0, 30_000), null);
});
