import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { openRun } from '../../../src/core/runs/store';
import { watchProcess } from '../../../src/core/runs/watch';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-watch-'));

test('watching a foreign process records samples and injected events, for the duration', async () => {
  const child = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore' });
  try {
    const { runDir, record } = await watchProcess({
      pid: child.pid!, runsDir, intervalMs: 20, durationMs: 1000, kind: 'debug', name: 'dbg',
      onStart: (add) => setTimeout(() => add({ type: 'debug-stop', reason: 'breakpoint', threadId: 1 }), 300),
    });
    assert.equal(record.kind, 'debug');
    assert.equal(record.name, 'dbg');
    const run = openRun(runDir);
    const env = run.environments[0];
    assert.ok(env.samples.length >= 20, `${env.samples.length} samples`);
    const stop = env.events.find((e) => e.type === 'debug-stop');
    assert.ok(stop && stop.t >= 250 && stop.t < 1000, `stop at ${stop?.t}`);
    assert.equal(env.record.verification?.mappedAllocator, null, 'sleep runs on glibc');
  } finally {
    process.kill(-child.pid!, 'SIGKILL');
  }
});

test('watching ends when the process exits, and an unknown pid is a clear error', async () => {
  const child = spawn('/bin/sleep', ['0.6'], { detached: true, stdio: 'ignore' });
  const started = Date.now();
  const { record } = await watchProcess({ pid: child.pid!, runsDir, intervalMs: 20 });
  assert.ok(Date.now() - started < 5000);
  assert.equal(record.environments[0].exit?.expected, false);
  await assert.rejects(watchProcess({ pid: 999_999_999, runsDir, intervalMs: 20 }), /No process 999999999/);
});
