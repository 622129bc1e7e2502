// The live trim experiment: a target holding free memory gives it back when asked through the probe's control
// block; a run folder gets the trim event on its timeline; a target without the probe gets an error that says
// how to start it with one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NoProbeError, readProbe, trimProcess } from '../../../src/core/ledger';
import type { RunEvent } from '../../../src/core/model';
import { residentBytes } from '../../../src/core/os/proc';
import { compareScenario, executeRun } from '../../../src/core/runs/runner';
import { openRun } from '../../../src/core/runs/store';
import { trimRunFolder } from '../../../src/core/ledger/trim';
import { nativeProgram } from '../support/paths';
import { killGroup, startTarget, waitFor } from './targets';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MiB = 1024 * 1024;

test('glibc: trim returns the free memory of the heaps, measured by the probe before and after', async () => {
  // 160 MiB in 1 KiB blocks over 4 threads (4 arenas), 9 of 10 freed: about 144 MiB free, in holes.
  const t = await startTarget(nativeProgram('habits'), ['retain', '160', '4']);
  try {
    await waitFor('the probe', () => readProbe(t.shm)?.stats);
    const before = residentBytes(t.pid)!;
    const r = await trimProcess(t.pid);
    const after = residentBytes(t.pid)!;
    assert.equal(r.pid, t.pid);
    assert.equal(r.allocator, 'glibc');
    assert.equal(r.returnedBytes, r.rssBeforeBytes - r.rssAfterBytes);
    // Whole free pages inside free chunks go back: most of the 144 MiB (the rest is partly used pages).
    assert.ok(r.returnedBytes > 60 * MiB, `returned ${r.returnedBytes / MiB} MiB`);
    assert.ok(Math.abs(r.rssBeforeBytes - before) < 8 * MiB, `probe's RSS before ${r.rssBeforeBytes} vs ours ${before}`);
    assert.ok(Math.abs(r.rssAfterBytes - after) < 8 * MiB, `probe's RSS after ${r.rssAfterBytes} vs ours ${after}`);
    // A second request gets its own answer (sequence numbers), and finds little left.
    const again = await trimProcess(t.pid);
    assert.ok(again.returnedBytes < 8 * MiB, `second trim returned ${again.returnedBytes / MiB} MiB`);
  } finally {
    killGroup(t.child);
  }
});

test('a target without the probe: a clear error that says how to start it with one', async () => {
  const t = await startTarget(nativeProgram('habits'), ['top', '1'], { probe: false });
  try {
    await assert.rejects(trimProcess(t.pid), (e: Error) => e instanceof NoProbeError && /--ledger/.test(e.message) && /LD_PRELOAD=/.test(e.message) && e.message.includes(String(t.pid)));
  } finally {
    killGroup(t.child);
  }
  await assert.rejects(trimProcess(2 ** 22 + 12345), /not running/);
});

test('a running run folder: the trim event lands on the environment\'s timeline', async () => {
  const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-trim-run-'));
  try {
    const loaded = compareScenario(nativeProgram('habits'), ['retain', '120', '2'], 4000, ['glibc'], runsDir);
    loaded.scenario.target.ready = { logLine: 'ready', timeout: '10s' } as typeof loaded.scenario.target.ready;
    let dir = '';
    let trimmed = null as Promise<Awaited<ReturnType<typeof trimRunFolder>>> | null;
    const outcome = await executeRun({ kind: 'compare', loaded, runsDir, ledger: true }, {
      runStarted: (d) => (dir = d),
      event: (_i, e) => {
        // Once the program holds its memory: trim from outside, as `alloclab trim RUN_DIR` does.
        if (e.type === 'ready') trimmed = new Promise((resolve) => setTimeout(resolve, 800)).then(() => trimRunFolder(dir));
      },
    });
    assert.ok(trimmed, 'the target never reached 100 MiB');
    const { result } = await trimmed!;
    assert.ok(result.returnedBytes > 40 * MiB, `returned ${result.returnedBytes / MiB} MiB`);
    const run = openRun(outcome.runDir);
    const ev = run.environments[0].events.find((e): e is Extract<RunEvent, { type: 'trim' }> => e.type === 'trim');
    assert.ok(ev, 'no trim event in events.ndjson');
    assert.equal(ev.returnedBytes, result.returnedBytes);
    assert.equal(ev.allocator, 'glibc');
    // On the run's clock: after spawn, before the end, within 2 s of the samples where RSS fell (the event is
    // written when the answer is read, which a loaded machine can delay by some hundred milliseconds either way).
    const samples = run.environments[0].samples;
    assert.ok(ev.t > 0 && ev.t < samples.at(-1)!.t, `t ${ev.t}`);
    const before = samples.filter((s) => s.t >= ev.t - 2000 && s.t < ev.t).map((s) => s.rssBytes);
    const after = samples.filter((s) => s.t > ev.t && s.t <= ev.t + 2000).map((s) => s.rssBytes);
    assert.ok(before.length && after.length, 'no samples around the event');
    const [high, low] = [before.reduce((a, b) => Math.max(a, b)), after.reduce((a, b) => Math.min(a, b))];
    assert.ok(high - low > 30 * MiB, `RSS ${high / MiB} -> ${low / MiB} MiB around the event`);
    // Finished: nothing left to trim.
    await assert.rejects(trimRunFolder(outcome.runDir), /No environment .* is running/);
  } finally {
    fs.rmSync(runsDir, { recursive: true, force: true });
  }
});
