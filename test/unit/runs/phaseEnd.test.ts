// Why a phase ended (phase-end `reason`) against real processes: its duration, its external driver exiting (fixed
// work done), a `requests` bound, --until-settled, a cancel. And a settled phase really ends before its duration.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import type { RunEvent } from '../../../src/core/model';
import { executeRun } from '../../../src/core/runs/runner';
import { openRun } from '../../../src/core/runs/store';
import { parseScenarioText } from '../../../src/core/stress/scenario';
import { nativeProgram } from '../support/paths';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-phase-end-'));

function scenario(body: Record<string, unknown>) {
  const text = JSON.stringify({ name: 'phase-end', environments: ['glibc'], ...body });
  return { file: null, baseDir: os.tmpdir(), scenario: parseScenarioText(text, 'phase-end.alloclab.json') };
}

type PhaseEnd = Extract<RunEvent, { type: 'phase-end' }>;
type PhaseStart = Extract<RunEvent, { type: 'phase-start' }>;

function phaseEvents(runDir: string): { starts: PhaseStart[]; ends: PhaseEnd[] } {
  const events = openRun(runDir).environments[0].events;
  return {
    starts: events.filter((e): e is PhaseStart => e.type === 'phase-start'),
    ends: events.filter((e): e is PhaseEnd => e.type === 'phase-end'),
  };
}

test('an external driver that exits ends its phase (driver-exit); an idle phase runs its duration (duration)', async () => {
  const loaded = scenario({
    target: { command: nativeProgram('sleeper'), args: [] },
    phases: [
      // The driver does a fixed amount of work (here: 300 ms of nothing) and exits 0, long before the 20 s bound.
      { name: 'load', kind: 'load', duration: '20s', load: { driver: 'command', command: process.execPath, args: ['-e', 'setTimeout(() => {}, 300)'] } },
      { name: 'idle', kind: 'idle', duration: '500ms' },
    ],
  });
  const { runDir } = await executeRun({ kind: 'scenario', loaded, runsDir });
  const { starts, ends } = phaseEvents(runDir);
  assert.deepEqual(ends.map((e) => e.reason), ['driver-exit', 'duration']);
  const loadMs = ends[0].t - starts[0].t;
  assert.ok(loadMs < 10_000, `the load phase ran ${loadMs} ms after its driver exited`);
});

test('a requests bound ends a phase with reason "requests"', async () => {
  const loaded = scenario({
    target: { command: nativeProgram('tiny-http'), args: ['${port}'], ready: { tcpPort: '${port}' } },
    phases: [{ name: 'load', kind: 'load', duration: '30s', requests: 20, load: { driver: 'http', url: 'http://127.0.0.1:${port}/', concurrency: 2 } }],
  });
  const { runDir } = await executeRun({ kind: 'scenario', loaded, runsDir });
  const { ends } = phaseEvents(runDir);
  assert.equal(ends[0].reason, 'requests');
  assert.ok(ends[0].load!.requests >= 20);
});

test('--until-settled ends a flat phase before its duration, with reason "settled"', async () => {
  const loaded = scenario({
    target: { command: nativeProgram('sleeper'), args: [] },
    sampling: { intervalMs: 50 },
    phases: [{ name: 'steady', kind: 'load', duration: '60s' }],
  });
  const { runDir, record } = await executeRun({ kind: 'scenario', loaded, runsDir, untilSettled: true });
  const { starts, ends } = phaseEvents(runDir);
  assert.equal(ends[0].reason, 'settled');
  assert.ok(ends[0].t - starts[0].t < 50_000, `a flat phase ran ${ends[0].t - starts[0].t} ms of its 60 s`);
  assert.equal(record.environments[0].error, null);
});

test('a cancelled run says so in its open phase', async () => {
  const ac = new AbortController();
  const loaded = scenario({
    target: { command: nativeProgram('sleeper'), args: [] },
    phases: [{ name: 'idle', kind: 'idle', duration: '60s' }],
  });
  setTimeout(() => ac.abort(), 1500);
  const { runDir } = await executeRun({ kind: 'scenario', loaded, runsDir, signal: ac.signal });
  assert.deepEqual(phaseEvents(runDir).ends.map((e) => e.reason), ['cancelled']);
});
