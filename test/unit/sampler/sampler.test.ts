// The sampler against real processes: a target that touches a known number of bytes on command.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Sample } from '../../../src/core/model';
import { startSampler, type RssSampler, type SamplerOptions } from '../../../src/core/sampler';
import { samplertest, Target } from './target';

const MiB = 1024 * 1024;
const TOUCH = 64 * MiB;

let dir: string;
const targets: Target[] = [];
const samplers: RssSampler[] = [];

function target(args: string[]): Target {
  const t = new Target(args);
  targets.push(t);
  return t;
}

/** Starts a sampler that collects every sample; `until` waits for one matching a predicate. */
function sample(opts: Partial<SamplerOptions> & { pid: number }) {
  const startNs = process.hrtime.bigint();
  const sampler = startSampler({ startNs, samplesFile: null, intervalMs: 20, batchMs: 20, ...opts });
  samplers.push(sampler);
  const samples: Sample[] = [];
  let wake: (() => void) | null = null;
  sampler.onBatch((batch) => {
    samples.push(...batch);
    wake?.();
  });
  const nowMs = () => Number(process.hrtime.bigint() - startNs) / 1e6;
  async function until(pred: (s: Sample) => boolean, what: string, timeoutMs = 10_000): Promise<Sample> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = samples.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no sample ${what} within ${timeoutMs} ms (${samples.length} samples)`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
    }
  }
  return { sampler, samples, until, nowMs };
}

before(() => {
  samplertest();
  dir = mkdtempSync(path.join(tmpdir(), 'alloclab-sampler-'));
});
afterEach(async () => {
  await Promise.all(samplers.splice(0).map((s) => s.stop()));
  for (const t of targets.splice(0)) t.kill();
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('startSampler', () => {
  it('sees the RSS rise by the bytes the target touches (within 5 %)', async () => {
    const t = target(['touch', String(TOUCH)]);
    assert.equal(await t.nextLine(), 'ready');
    const s = sample({ pid: t.pid });
    await s.until((x) => x.t > 100, 'after 100 ms');
    const before = s.samples[s.samples.length - 1];
    t.send('go');
    assert.equal(await t.nextLine(), 'touched');
    const touchedAt = s.nowMs();
    const afterTouch = await s.until((x) => x.t > touchedAt + 50, 'after the touch');
    const rise = afterTouch.rssBytes - before.rssBytes;
    assert.ok(Math.abs(rise - TOUCH) <= 0.05 * TOUCH, `RSS rose by ${(rise / MiB).toFixed(2)} MiB, expected 64 MiB`);
    // The status breakdown attributes it to anonymous memory.
    const anonBefore = s.samples.find((x) => x.anonBytes !== undefined)!;
    const anonAfter = await s.until((x) => x.t > touchedAt && x.anonBytes !== undefined, 'with anonBytes after the touch');
    assert.ok(Math.abs(anonAfter.anonBytes! - anonBefore.anonBytes! - TOUCH) <= 0.05 * TOUCH, 'anon rise');
    assert.equal(afterTouch.processes, 1);
    assert.equal(s.samples[0].threads, 1);
  });

  it('delivers samples in order, t increasing, intervals close to intervalMs, PSS on the first', async () => {
    const t = target(['hold', String(4 * MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    const s = sample({ pid: t.pid, intervalMs: 25 });
    await s.until(() => s.samples.length >= 30, '30 samples');
    const summary = await s.sampler.stop();
    // t is on the caller's clock: after startNs, and before now.
    assert.ok(s.samples[0].t >= 0 && s.samples[s.samples.length - 1].t <= s.nowMs(), `t ${s.samples[0].t}..${s.samples.at(-1)!.t} at ${s.nowMs()}`);
    assert.equal(summary.reason, 'stopped');
    assert.equal(summary.count, s.samples.length);
    const gaps = s.samples.slice(1).map((x, i) => x.t - s.samples[i].t);
    assert.ok(gaps.every((g) => g > 0), 't strictly increasing');
    const sorted = [...gaps].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    assert.ok(median > 20 && median < 30, `median interval ${median} ms for 25 ms`);
    assert.ok(s.samples[0].pssBytes! > 4 * MiB, 'PSS read on the first sample');
    // CPU and threads come at their own 100 ms rate: about every 4th reading here, never decreasing.
    const withCpu = s.samples.filter((x) => x.cpuMs !== undefined);
    assert.equal(withCpu[0], s.samples[0]);
    assert.ok(withCpu.length >= s.samples.length / 8 && withCpu.length <= s.samples.length / 2, `${withCpu.length} of ${s.samples.length} with CPU`);
    assert.ok(withCpu.every((x, i) => x.threads === 1 && (i === 0 || x.cpuMs! >= withCpu[i - 1].cpuMs!)));
    // Root may use SCHED_FIFO; others fall back (to nice -10 with CAP_SYS_NICE, else as is).
    if (process.getuid?.() === 0) assert.equal(summary.timing!.priority, 'realtime');
    else assert.notEqual(summary.timing!.priority, 'realtime');
    assert.equal(summary.timing!.priorityDemoted, false);
  });

  it('sustains a 10 ms interval for 2 s', async () => {
    const t = target(['hold', String(MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    const s = sample({ pid: t.pid, intervalMs: 10, batchMs: 200 });
    const first = await s.until(() => true, 'at all');
    await s.until((x) => x.t >= first.t + 2000, '2 s in');
    const summary = await s.sampler.stop();
    const within = s.samples.filter((x) => x.t <= first.t + 2000).length;
    // 201 on a quiet machine; the machine is shared, so only a loose floor.
    assert.ok(within >= 120 && within <= 202, `${within} samples in 2 s at 10 ms`);
    const timing = summary.timing!;
    assert.ok(timing.ticks >= summary.count);
    assert.ok(timing.lateP50Ms <= timing.lateP99Ms && timing.lateP99Ms <= timing.lateMaxMs + 0.01, JSON.stringify(timing));
    assert.ok(timing.workerCpuMs! > 0);
  });

  it('sums the process tree: a forked child that allocates is counted', async () => {
    const t = target(['fork', String(TOUCH)]);
    assert.equal(await t.nextLine(), 'ready');
    const s = sample({ pid: t.pid, rescanEveryMs: 100 });
    await s.until((x) => x.t > 100, 'after 100 ms');
    const before = s.samples[s.samples.length - 1];
    assert.equal(before.processes, 1);
    t.send('go');
    const line = await t.nextLine();
    assert.match(line, /^child-touched \d+$/);
    const touchedAt = s.nowMs();
    // The child is found at the next rescan (100 ms here), then counted.
    const both = await s.until((x) => x.t > touchedAt + 50 && x.processes === 2, 'with two processes');
    const rise = both.rssBytes - before.rssBytes;
    // The child's copy-on-write pages of the parent count again (RSS, not PSS): allow that on top.
    assert.ok(rise >= 0.95 * TOUCH && rise <= 1.05 * TOUCH + before.rssBytes, `tree RSS rose by ${(rise / MiB).toFixed(2)} MiB`);
    // Without children the same moment shows only the parent.
    const parentOnly = sample({ pid: t.pid, includeChildren: false });
    const p = await parentOnly.until(() => true, 'of the parent alone');
    assert.equal(p.processes, 1);
    assert.ok(p.rssBytes < before.rssBytes + 0.05 * TOUCH, 'the parent alone did not grow');
    // The child ending drops it from the sum.
    t.send('stop');
    const summary = await s.sampler.done;
    assert.equal(summary.reason, 'exited');
  });

  it('appends one JSON sample per line while running', async () => {
    const t = target(['hold', String(MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    const file = path.join(dir, 'samples.ndjson');
    // A batch interval longer than a second: the file must still be written within a second.
    const s = sample({ pid: t.pid, samplesFile: file, intervalMs: 50, batchMs: 5000 });
    await new Promise((r) => setTimeout(r, 1600));
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.ok(lines.length >= 5, `${lines.length} lines after 1.6 s`);
    const parsed = lines.map((l) => JSON.parse(l) as Sample);
    assert.ok(parsed.every((x) => typeof x.t === 'number' && x.rssBytes > 0));
    assert.equal(s.samples.length, 0, 'no batch reached the main thread yet (batchMs 5000)');
    const summary = await s.sampler.stop();
    const all = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Sample);
    assert.equal(all.length, summary.count);
    assert.deepEqual(all, s.samples, 'the file holds exactly the samples delivered');
  });

  it("ends with 'exited' when the target exits", async () => {
    const t = target(['hold', String(MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    const s = sample({ pid: t.pid });
    await s.until(() => true, 'at all');
    t.proc.stdin.end(); // EOF: the target exits on its own
    const summary = await s.sampler.done;
    assert.equal(summary.reason, 'exited');
    assert.ok(summary.count > 0);
    assert.equal(summary.count, s.samples.length, 'the last samples were flushed');
  });

  it("ends with 'exited' at once for a pid that does not exist", async () => {
    const t = target(['hold', '1']);
    await t.nextLine();
    t.kill();
    await t.exited;
    const summary = await sample({ pid: t.pid }).sampler.done;
    assert.equal(summary.reason, 'exited');
    assert.equal(summary.count, 0);
  });

  it("ends with 'error' and says why when the samples file cannot be written", async () => {
    const t = target(['hold', String(MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    // /dev/full opens fine and fails every write with ENOSPC: a disk filling up mid-run.
    const full = await sample({ pid: t.pid, samplesFile: '/dev/full', batchMs: 50 }).sampler.done;
    assert.equal(full.reason, 'error');
    assert.match(full.error!, /\/dev\/full.*disk is full/);
    // A path below a regular file cannot even be opened.
    const blocker = path.join(dir, 'not-a-dir');
    writeFileSync(blocker, '');
    const bad = await sample({ pid: t.pid, samplesFile: path.join(blocker, 'samples.ndjson') }).sampler.done;
    assert.equal(bad.reason, 'error');
    assert.match(bad.error!, /not-a-dir.*writable folder/);
    assert.equal(t.proc.exitCode, null, 'the sampler never touches the target');
  });

  it('also runs with timer sleeps', async () => {
    const t = target(['hold', String(MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    const s = sample({ pid: t.pid, sleep: 'timer', intervalMs: 20 });
    await s.until(() => s.samples.length >= 10, '10 samples');
    const summary = await s.sampler.stop();
    assert.equal(summary.reason, 'stopped');
    assert.ok(s.samples.slice(1).every((x, i) => x.t > s.samples[i].t));
  });

  it('gives realtime scheduling up when readings take most of the time', async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip('SCHED_FIFO needs root here');
    const t = target(['hold', String(256 * MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    // smaps_rollup of 256 MiB on every 2 ms tick keeps the thread reading well over a quarter of the time.
    const busy = sample({ pid: t.pid, intervalMs: 2, pssEveryMs: 0 });
    await new Promise((r) => setTimeout(r, 1500));
    const summary = await busy.sampler.stop();
    assert.equal(summary.timing!.priorityDemoted, true, JSON.stringify(summary.timing));
    assert.equal(summary.timing!.priority, 'raised');
    assert.ok(summary.timing!.pssReads > 100);
  });

  it('rejects an interval below 1 ms', () => {
    assert.throws(() => startSampler({ pid: process.pid, startNs: 0n, intervalMs: 0, samplesFile: null }), /interval/);
  });
});
