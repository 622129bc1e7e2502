import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { deleteRun, listRuns, openRun, readNdjson, RunWriter, SAMPLES_FILE } from '../../../src/core/runs/store';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-store-'));
}

test('a run folder is written as the run goes and reads back', () => {
  const runsDir = tmp();
  const w = RunWriter.create({ runsDir, name: 'demo', kind: 'scenario', scenarioPath: null, scenario: { a: 1 } });
  assert.match(path.basename(w.dir), /^\d{8}-\d{6}-demo$/);
  const rec = w.addEnvironment({ env: 'glibc', label: 'glibc', repetition: 1, appliedEnv: {}, pid: 1, startedAt: '', durationMs: null, verification: null, exit: null, error: null, metrics: null });
  assert.equal(rec.dir, '01-glibc');
  w.appendEvent(rec, { t: 0, type: 'spawn', pid: 1, command: 'x', args: [] });
  fs.writeFileSync(w.envPath(rec, SAMPLES_FILE), [0, 100, 200].map((t) => JSON.stringify({ t, rssBytes: 1000 + t })).join('\n') + '\n');
  const run = openRun(w.dir);
  assert.equal(run.record.complete, false);
  assert.equal(run.environments[0].samples.length, 3);
  assert.equal(run.environments[0].events[0].type, 'spawn');
  // Interrupted run: metrics recomputed from the samples.
  assert.equal(run.environments[0].record.metrics!.peakRssBytes, 1200);
  const list = listRuns(runsDir);
  assert.equal(list.length, 1);
  assert.deepEqual(list[0].environments, ['glibc']);
  deleteRun(w.dir);
  assert.equal(fs.existsSync(w.dir), false);
});

test('a torn last line (crash mid-write) loses only that line', () => {
  const dir = tmp();
  const f = path.join(dir, 'x.ndjson');
  fs.writeFileSync(f, '{"t":0,"rssBytes":1}\n{"t":50,"rssBytes":2}\n{"t":100,"rssB');
  assert.deepEqual(readNdjson(f), [{ t: 0, rssBytes: 1 }, { t: 50, rssBytes: 2 }]);
});

test('an unwritable runs folder gives an error that says what to do', { skip: process.getuid?.() === 0 ? false : 'needs root to create the read-only case reliably' }, () => {
  const dir = tmp();
  const file = path.join(dir, 'not-a-dir');
  fs.writeFileSync(file, 'x');
  assert.throws(() => RunWriter.create({ runsDir: file, name: 'x', kind: 'compare', scenarioPath: null, scenario: {} }), /Cannot create the run folder .*not-a-dir/);
});

test('openRun refuses a folder that is not a run, and deleteRun will not delete it', () => {
  const dir = tmp();
  assert.throws(() => openRun(dir), /not a readable Allocator Lab run/);
  assert.throws(() => deleteRun(dir), /not a run folder/);
  assert.ok(fs.existsSync(dir));
});

test('a finished run without a diagnosis (an old run) is judged when opened; a damaged diagnosis is judged again', () => {
  const runsDir = tmp();
  const w = RunWriter.create({ runsDir, name: 'old', kind: 'compare', scenarioPath: null, scenario: {} });
  const rec = w.addEnvironment({ env: 'glibc', label: 'glibc', repetition: 1, appliedEnv: {}, pid: 1, startedAt: '', durationMs: null, verification: null, exit: { code: 0, signal: null, expected: true }, error: null, metrics: null });
  // 30 s of a flat 100 MiB, every 100 ms.
  fs.writeFileSync(w.envPath(rec, SAMPLES_FILE), Array.from({ length: 301 }, (_, i) => JSON.stringify({ t: i * 100, rssBytes: 100 * 1048576 + (i % 3) * 4096 })).join('\n') + '\n');
  w.record.complete = true;
  w.record.verdict = 'RSS is flat under glibc (the words of an older version).';
  w.save();
  const run = openRun(w.dir);
  assert.equal(run.record.diagnosis?.finding, 'stable');
  assert.ok(run.record.verdict!.startsWith('Stable ('), run.record.verdict!);
  assert.equal(run.environments[0].record.metrics!.trajectory!.class, 'flat');
  // A diagnosis that does not match its schema is dropped on reading and derived again.
  const file = path.join(w.dir, 'run.json');
  const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, JSON.stringify({ ...saved, diagnosis: { finding: 'nonsense' } }));
  assert.equal(openRun(w.dir).record.diagnosis?.finding, 'stable');
});
