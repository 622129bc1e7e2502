// The `alloclab` command as a user runs it: output, JSON document, exit codes, Ctrl-C.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/paths';

const cli = path.join(repoRoot, 'bin', 'alloclab');
const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab cli "quoted" '));

function run(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
}

test('compare --json reports jemalloc applied, with the documented fields', () => {
  const r = run(['compare', '--env', 'glibc,jemalloc', '--duration', '1s', '--json', '--', '/bin/sleep', '10']);
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.ok(fs.existsSync(path.join(doc.runDir, 'run.json')));
  assert.ok(doc.runDir.startsWith(path.join(fs.realpathSync(cwd), '.alloclab', 'runs')) || doc.runDir.startsWith(path.join(cwd, '.alloclab', 'runs')));
  assert.equal(doc.environments.length, 2);
  for (const key of ['env', 'applied', 'notAppliedReason', 'mappedAllocator', 'samples', 'peakRssBytes', 'finalRssBytes', 'growthBytesPerMin', 'exit']) {
    assert.ok(key in doc.environments[0], `missing ${key}`);
  }
  assert.equal(doc.environments[1].env, 'jemalloc');
  assert.equal(doc.environments[1].applied, true);
  assert.match(doc.environments[1].mappedAllocator, /libjemalloc/);
  assert.equal(typeof doc.verdict, 'string');
  for (const key of ['steadyRssBytes', 'meanRssBytes', 'trajectory', 'growthIntervalBytesPerMin', 'lsGrowthBytesPerMin']) {
    assert.ok(key in doc.environments[0], `missing ${key}`);
  }
  // The diagnosis, top level: a 1 s run of sleep is too short to decide anything, and says how much longer.
  assert.equal(doc.diagnosis.finding, 'inconclusive');
  assert.ok(['high', 'medium', 'low'].includes(doc.diagnosis.confidence));
  assert.ok(doc.verdict.startsWith(doc.diagnosis.summary));
  assert.match(doc.diagnosis.next, /longer/);
  assert.deepEqual(Object.keys(doc.diagnosis.environments), ['01-glibc', '02-jemalloc']);
  assert.ok(Array.isArray(doc.diagnosis.evidence) && Array.isArray(doc.diagnosis.habits));
  assert.ok('recommendation' in doc.diagnosis);
});

test('a bogus allocator library is reported not applied, with the reason, in the table; nothing measured exits 1', () => {
  const r = run(['compare', '--allocator', 'bogus=/nonexistent/libbogus.so', '--env', 'bogus', '--duration', '1s', '--', '/bin/sleep', '5']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /Inconclusive \(low confidence\): no environment produced measurements/);
  assert.match(r.stdout, /bogus\s+NO/);
  assert.match(r.stdout, /not applied: .*libbogus\.so/);
});

test('input errors exit 2 with a message that says what to do', () => {
  const unknown = run(['compare', '--env', 'nosuch', '--duration', '1s', '--', '/bin/sleep', '1']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /Unknown allocator environment "nosuch".*alloclab allocators/s);
  const missing = run(['compare', '--env', 'glibc', '--duration', '1s', '--', '/no/such/binary']);
  assert.equal(missing.status, 2, missing.stderr);
  assert.match(missing.stderr, /\/no\/such\/binary/);
  const dir = run(['compare', '--env', 'glibc', '--duration', '1s', '--', os.tmpdir()]);
  assert.equal(dir.status, 2, dir.stderr);
  assert.match(dir.stderr, /directory/i);
  const badScenario = path.join(cwd, 'bad.alloclab.json');
  fs.writeFileSync(badScenario, '{\n  "name": "x",\n  "target": { "command": "/bin/true" },\n  "phases": [ { "name": "a", "kind": "load", "duration": "1s", "bogus": 1 } ]\n}\n');
  const bad = run(['run', badScenario]);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad\.alloclab\.json:4:\d+: .*bogus/);
});

test('allocators lists the built-in environments with availability', () => {
  const r = run(['allocators', '--json']);
  assert.equal(r.status, 0, r.stderr);
  const list = JSON.parse(r.stdout) as { id: string; available: boolean }[];
  for (const id of ['glibc', 'glibc-arena-2', 'glibc-trim', 'glibcxx-force-new', 'jemalloc', 'tcmalloc', 'mimalloc']) {
    assert.ok(list.some((p) => p.id === id), `missing ${id}`);
  }
  assert.equal(list.find((p) => p.id === 'jemalloc')!.available, true);
});

test('Ctrl-C stops the target, keeps the run marked cancelled, and leaves nothing running', async () => {
  const child = spawn(process.execPath, [cli, 'compare', '--env', 'glibc', '--duration', '60s', '--out', path.join(cwd, 'interrupted'), '--', '/bin/sleep', '120'], { cwd, stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 2000));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.equal(code, 130);
  const saved = JSON.parse(fs.readFileSync(path.join(cwd, 'interrupted', 'run.json'), 'utf8'));
  assert.equal(saved.cancelled, true);
  const pid = saved.environments[0].pid as number;
  assert.ok(pid > 0);
  assert.equal(fs.existsSync(`/proc/${pid}`), false, 'the target is gone');
  const show = run(['show', path.join(cwd, 'interrupted')]);
  assert.equal(show.status, 0, show.stderr);
  assert.match(show.stdout, /glibc/);
});


test('the regression gate exits 3 and names the crossed threshold, against a baseline too', () => {
  const scenario = path.join(cwd, 'gate.alloclab.json');
  fs.writeFileSync(scenario, JSON.stringify({
    name: 'gate', target: { command: '/bin/sleep', args: ['30'] }, environments: ['glibc'],
    phases: [{ name: 'load', kind: 'load', duration: '800ms' }],
  }));
  const ok = run(['run', scenario, '--out', path.join(cwd, 'gate-base'), '--fail-on', 'peak>1GiB']);
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  const crossed = run(['run', scenario, '--out', path.join(cwd, 'gate-1'), '--fail-on', 'peak>1KiB']);
  assert.equal(crossed.status, 3, crossed.stderr);
  assert.match(crossed.stdout, /THRESHOLD CROSSED: glibc.*peak/);
  const relative = run(['run', scenario, '--out', path.join(cwd, 'gate-2'), '--baseline', path.join(cwd, 'gate-base'), '--fail-on', 'peak>+1000%', '--json']);
  assert.equal(relative.status, 0, relative.stderr);
  assert.deepEqual(JSON.parse(relative.stdout).thresholds.crossed, []);
});
