// The engine side of a debug session: a 'debug' run on a real process, events added through 'debug-event'
// requests, cancel -> a saved run of kind 'debug' with the stop on its timeline.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { openRun } from '../../../src/core/runs/store';
import type { RunFinishedParams, RunSamplesParams } from '../../../src/protocol/lsp';
import { RunHost, type RunSink } from '../../../src/server/runHost';
import { nativeProgram } from '../support/paths';

describe('RunHost debug runs', () => {
  it('records a debug run, takes events by debug-event, finishes on cancel', async () => {
    const runsDir = mkdtempSync(path.join(tmpdir(), 'alloclab-dbgrun-'));
    const target = spawn(nativeProgram('sleeper'), [], { detached: true, stdio: 'ignore' });
    const finished = new Map<string, RunFinishedParams>();
    const samples: RunSamplesParams[] = [];
    const waiters: (() => void)[] = [];
    const poke = () => { for (const w of waiters.splice(0)) w(); };
    const until = async (f: () => boolean) => {
      const end = Date.now() + 10_000;
      while (!f()) {
        if (Date.now() > end) throw new Error('timed out');
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 50); });
      }
    };
    const sink: RunSink = {
      runStarted: poke, progress: poke, event: poke, environmentStarted: poke, environmentFinished: poke,
      samples: (p) => { samples.push(p); poke(); },
      runFinished: (p) => { finished.set(p.runId, p); poke(); },
    };
    const host = new RunHost(sink);
    try {
      host.start({ runId: 'dbg', target: { kind: 'debug', pid: target.pid!, name: 'debug-sleeper' }, runsDir, samplingIntervalMs: 20 });
      await until(() => samples.length > 0);
      assert.equal(host.addRunEvent('dbg', { type: 'debug-stop', reason: 'breakpoint', description: 'at line 7', threadId: 1 }), true);
      assert.equal(host.addRunEvent('nope', { type: 'note', level: 'info', message: 'x' }), false, 'no such debug run');
      assert.deepEqual(host.ids(), ['dbg'], 'events are not runs');
      host.cancel('dbg');
      await until(() => finished.has('dbg'));
      const f = finished.get('dbg')!;
      assert.equal(f.error, null);
      const run = openRun(f.runDir!);
      assert.equal(run.record.kind, 'debug');
      assert.equal(run.record.cancelled, false, 'a debug run ends with its session; that is not a cancellation');
      assert.equal(run.record.name, 'debug-sleeper');
      const events = readFileSync(path.join(f.runDir!, run.record.environments[0].dir, 'events.ndjson'), 'utf8');
      const stop = events.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; reason?: string; t: number }).find((e) => e.type === 'debug-stop');
      assert.ok(stop, events);
      assert.equal(stop.reason, 'breakpoint');
      assert.ok(stop.t > 0);
    } finally {
      try { process.kill(-target.pid!, 'SIGKILL'); } catch { /* gone */ }
      await host.cancelAll();
      rmSync(runsDir, { recursive: true, force: true });
    }
  });
});
