// A run never writes into an earlier one: --out into an existing run folder is refused, and nothing of the
// earlier run changes. Checks of the gate options come before the run, not after it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { createRunFolder, openRun } from '../../../src/core/runs/store';
import { runCli, tempDir } from './support';

function snapshotFolder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of fs.readdirSync(d)) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = fs.readFileSync(p, 'latin1');
    }
  };
  walk(dir);
  return out;
}

test('--out into an existing run folder is refused and the earlier run is left byte for byte', () => {
  const cwd = tempDir('runfolder');
  const out = path.join(cwd, 'the run');
  const first = runCli(['compare', '--env', 'glibc', '--duration', '500ms', '--out', out, '--', '/bin/sleep', '5'], cwd);
  assert.equal(first.status, 0, first.stderr);
  const before = snapshotFolder(out);
  assert.ok(before['run.json'] && before[path.join('01-glibc', 'samples.ndjson')]);

  const second = runCli(['compare', '--env', 'glibc', '--duration', '500ms', '--out', out, '--', '/bin/sleep', '5'], cwd);
  assert.equal(second.status, 2, second.stderr);
  assert.match(second.stderr, /already exists with an earlier run \(it holds run\.json\).*--out/);
  assert.deepEqual(snapshotFolder(out), before);
  assert.equal(openRun(out).environments.length, 1);
});

test('--out into a folder holding other files is refused; into an empty folder it is used', () => {
  const cwd = tempDir('runfolder');
  const busy = path.join(cwd, 'busy');
  fs.mkdirSync(busy);
  fs.writeFileSync(path.join(busy, 'notes.txt'), 'mine');
  assert.throws(() => createRunFolder(busy), (e: Error & { kind?: string }) => e.kind === 'input' && /already exists with 1 file/.test(e.message));
  assert.equal(fs.readFileSync(path.join(busy, 'notes.txt'), 'utf8'), 'mine');

  const empty = path.join(cwd, 'empty');
  fs.mkdirSync(empty);
  createRunFolder(empty);
  createRunFolder(path.join(cwd, 'a', 'b', 'c'));
  assert.ok(fs.statSync(path.join(cwd, 'a', 'b', 'c')).isDirectory());
  fs.writeFileSync(path.join(cwd, 'file'), '');
  assert.throws(() => createRunFolder(path.join(cwd, 'file', 'run')), /is not a folder|not a folder/);
});

test('--out under /proc fails at once with a message instead of hanging', () => {
  const cwd = tempDir('runfolder');
  const r = runCli(['compare', '--env', 'glibc', '--duration', '500ms', '--out', '/proc/self/x', '--', '/bin/sleep', '5'], cwd, 30_000);
  assert.equal(r.signal, null, 'the CLI ended by itself');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Cannot create the run folder \/proc\/self\/x/);
});

test('a bad --fail-on or --baseline is an input error before anything runs', () => {
  const cwd = tempDir('gate');
  const scenario = path.join(cwd, 'gate.alloclab.json');
  fs.writeFileSync(scenario, JSON.stringify({
    name: 'gate', target: { command: '/bin/sleep', args: ['30'] }, environments: ['glibc'],
    phases: [{ name: 'p', kind: 'idle', duration: '20s' }],
  }));
  const runsDir = path.join(cwd, 'runs');
  const badFailOn = runCli(['run', scenario, '--runs-dir', runsDir, '--fail-on', 'heap>5MiB'], cwd);
  assert.equal(badFailOn.status, 2, badFailOn.stderr);
  assert.match(badFailOn.stderr, /--fail-on: .*unknown metric "heap"/);
  const badBaseline = runCli(['run', scenario, '--runs-dir', runsDir, '--fail-on', 'peak>+20%', '--baseline', path.join(cwd, 'nothing here')], cwd);
  assert.equal(badBaseline.status, 2, badBaseline.stderr);
  assert.match(badBaseline.stderr, /--baseline: .*nothing here/);
  const noFailOn = runCli(['run', scenario, '--runs-dir', runsDir, '--baseline', cwd], cwd);
  assert.equal(noFailOn.status, 2, noFailOn.stderr);
  assert.match(noFailOn.stderr, /--baseline needs --fail-on/);
  assert.equal(fs.existsSync(runsDir), false, 'no run folder was started');
});
