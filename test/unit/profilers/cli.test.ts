// The profile and hotspots commands of the built CLI (dist/cli.js), run as a user would.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { nativeProgram, repoRoot } from '../support/paths';
import { fixtureFromElsewhere, fixturesDir, markerLine, proftestDir } from './helpers';

const cli = path.join(repoRoot, 'dist', 'cli.js');

function alloclab(args: string[], cwd = repoRoot): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('hotspots --json lists function, file, line and the figures per site', async () => {
  // As recorded on a build host: the sites map into this checkout by suffix.
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-cli-json-'));
  const r = alloclab(['hotspots', await fixtureFromElsewhere('heaptrack.sites.zst', dir), '--by', 'calls', '--top', '3', '--json']);
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.backend, 'heaptrack');
  assert.equal(doc.ranking, 'calls');
  assert.equal(doc.hotspots.length, 3);
  const top = doc.hotspots[0];
  for (const k of ['function', 'file', 'line', 'growthBytesPerMin', 'peakBytes', 'allocations', 'leakedBytes']) assert.ok(k in top, k);
  assert.equal(top.function, 'churn_step');
  assert.equal(top.line, markerLine('sites.c', 'churn'));
  assert.equal(top.workspaceFile, path.join(proftestDir, 'sites.c'));
});

test('hotspots: an unsupported ranking exits 2 with a message', () => {
  const r = alloclab(['hotspots', path.join(fixturesDir, 'massif.out.sites'), '--by', 'leaked']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot rank by leaked/);
  const bad = alloclab(['hotspots', path.join(fixturesDir, 'record.sh')]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /not a profile/);
});

test('profile -- BINARY writes a run folder that hotspots reads back', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'alloclab-cli-prof-'));
  try {
    // pause 3 ms per iteration: the program would run ~5 s; --duration stops it after 1.5 s.
    const r = alloclab(['profile', '--backend', 'jemalloc-prof', '--lg-prof-interval', '20', '--duration', '1500ms', '--out', out, '--by', 'peak', '--json', '--', nativeProgram('proftest-sites'), '3000']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.backend, 'jemalloc-prof');
    assert.equal(doc.ranking, 'peak');
    assert.equal(doc.hotspots[0].line, markerLine('sites.c', 'cache'));
    // An ordinary run folder: run.json of kind profile, the profile in the environment's folder.
    const record = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.equal(record.kind, 'profile');
    assert.equal(record.complete, true);
    assert.equal(record.environments.length, 1);
    assert.equal(record.environments[0].env, 'jemalloc');
    assert.ok(existsSync(path.join(out, record.environments[0].dir, 'profile.json')));
    assert.ok(existsSync(path.join(out, record.environments[0].dir, 'stderr.log')));
    const again = alloclab(['hotspots', out, '--by', 'calls', '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).hotspots[0].line, markerLine('sites.c', 'churn'));
    const table = alloclab(['hotspots', out]);
    assert.match(table.stdout, /Hotspots by growth \(jemalloc-prof, sampled estimates\)/);
    assert.match(table.stdout, /cache_block/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('profile SCENARIO records during the run and ranks growth over the load phase', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-cli-scen-'));
  try {
    const scenario = path.join(dir, 'sites.alloclab.json');
    writeFileSync(scenario, JSON.stringify({
      name: 'sites',
      target: { command: nativeProgram('proftest-sites'), args: ['2000'] },
      environments: ['glibc'],
      phases: [{ name: 'warm', kind: 'warmup', duration: '400ms' }, { name: 'steady', kind: 'load', duration: '1500ms' }],
    }));
    const out = path.join(dir, 'run');
    const r = alloclab(['profile', '--backend', 'jemalloc-prof', '--lg-prof-interval', '20', '--out', out, '--json', scenario], dir);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.hotspots[0].line, markerLine('sites.c', 'leak'));
    assert.ok(doc.hotspots[0].growthBytesPerMin > 0);
    // The run folder is a normal run (run.json) with the profile in the environment's folder.
    assert.ok(existsSync(path.join(out, 'run.json')));
    const again = alloclab(['hotspots', out, '--json']);
    assert.equal(JSON.parse(again.stdout).hotspots[0].line, markerLine('sites.c', 'leak'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('hotspots RUN_DIR ranks every environment of the run, as the editor does', async () => {
  const run = mkdtempSync(path.join(tmpdir(), 'alloclab-cli-envs-'));
  try {
    // Two environment folders, each with its profile.json (the format the profile command writes).
    const { openProfile } = await import('../../../src/core/profilers');
    mkdirSync(path.join(run, '01-glibc'));
    mkdirSync(path.join(run, '02-jemalloc'));
    writeFileSync(path.join(run, '01-glibc', 'profile.json'), JSON.stringify(await openProfile(path.join(fixturesDir, 'heaptrack.sites.zst'))));
    copyFileSync(path.join(fixturesDir, 'massif.out.sites'), path.join(run, '02-jemalloc', 'massif.out.sites'));
    writeFileSync(path.join(run, '02-jemalloc', 'profile.json'), JSON.stringify(await openProfile(path.join(fixturesDir, 'massif.out.sites'))));
    const r = alloclab(['hotspots', run, '--by', 'peak', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.environments.map((e: { environment: string; backend: string }) => [e.environment, e.backend]), [['01-glibc', 'heaptrack'], ['02-jemalloc', 'massif']]);
    for (const e of doc.environments) assert.equal(e.hotspots[0].line, markerLine('sites.c', 'cache'));
    const table = alloclab(['hotspots', run, '--by', 'peak']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /Hotspots by peak \(heaptrack\) in .*01-glibc/);
    assert.match(table.stdout, /Hotspots by peak \(massif\) in .*02-jemalloc/);
  } finally {
    rmSync(run, { recursive: true, force: true });
  }
});

test('hotspots --baseline lists the change per line', () => {
  // The heaptrack fixture against the massif one: both recorded from sites.c, so every line matches up.
  const r = alloclab(['hotspots', path.join(fixturesDir, 'heaptrack.sites.zst'), '--baseline', path.join(fixturesDir, 'massif.out.sites'), '--by', 'peak', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  const cache = doc.diff.find((d: { line: number }) => d.line === markerLine('sites.c', 'cache'));
  assert.ok(cache, 'the cache line is in both');
  assert.ok(cache.before > 0 && cache.after > 0);
  assert.equal(cache.delta, cache.after - cache.before);
  // The table has a header row naming its columns, above rows of the same layout.
  const table = alloclab(['hotspots', path.join(fixturesDir, 'heaptrack.sites.zst'), '--baseline', path.join(fixturesDir, 'massif.out.sites'), '--by', 'peak']);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trimEnd().split('\n');
  assert.match(lines[0], /^Change in peak since the baseline \(massif -> heaptrack\)$/);
  assert.match(lines[1], /^\s*change\s+baseline\s+now\s+site$/);
  assert.ok(lines.length > 2 && lines.slice(2).every((l) => /^\s*[+-]?[\d.]+ MiB\s+(-|[\d.]+ MiB)\s+(-|[\d.]+ MiB)\s+\S.*\(.*\)$/.test(l)), lines.join('\n'));
});

test('profile without --backend uses probe-sampled (the probe applies), keeps --env, and hotspots writes pprof', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'alloclab-cli-sampled-'));
  try {
    const r = alloclab(['profile', '--env', 'jemalloc', '--interval', '65536', '--unwinder', 'libunwind', '--out', out, '--by', 'calls', '--json', '--', nativeProgram('proftest-sites'), '0']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.backend, 'probe-sampled');
    assert.equal(doc.hotspots[0].line, markerLine('sites.c', 'churn'));
    assert.ok(doc.hotspots[0].bytesError > 0);
    assert.equal(doc.hotspots[0].belowResolution, false);
    // The target ran on jemalloc: the probe's sample file maps libjemalloc.
    const record = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.equal(record.environments[0].env, 'jemalloc');
    const profile = JSON.parse(readFileSync(path.join(out, record.environments[0].dir, 'profile.json'), 'utf8'));
    assert.equal(profile.sampling.unwinder, 'libunwind');
    assert.ok(profile.modules.some((m: { path: string }) => m.path.includes('libjemalloc')), 'libjemalloc is not among the modules');
    const pb = path.join(out, 'heap.pb.gz');
    const w = alloclab(['hotspots', out, '--format', 'pprof', '-o', pb]);
    assert.equal(w.code, 0, w.stderr);
    assert.deepEqual([...readFileSync(pb).subarray(0, 2)], [0x1f, 0x8b]);
    const noFile = alloclab(['hotspots', out, '--format', 'pprof']);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /-o FILE/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('profile: samples lost to a full buffer are counted in profile.json and --json, and said under the table', () => {
  const out = mkdtempSync(path.join(tmpdir(), 'alloclab-cli-dropped-'));
  try {
    // Every allocation sampled (interval 1): the churn loop fills its thread's buffer long before a 20 ms drain.
    const r = alloclab(['profile', '--interval', '1', '--unwinder', 'fp', '--out', out, '--by', 'calls', '--json', '--', nativeProgram('proftest-sites'), '0']);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.ok(doc.sampling.dropped > 0, `dropped ${doc.sampling.dropped}`);
    assert.ok(doc.sampling.samples > doc.sampling.dropped);
    assert.ok(doc.warnings.some((w: string) => /samples were lost/.test(w)), doc.warnings.join('\n'));
    const record = JSON.parse(readFileSync(path.join(out, 'run.json'), 'utf8'));
    const envDir = path.join(out, record.environments[0].dir);
    const profile = JSON.parse(readFileSync(path.join(envDir, 'profile.json'), 'utf8'));
    assert.equal(profile.sampling.dropped, doc.sampling.dropped);
    assert.ok(profile.sampling.liveTracked >= 0 && profile.sampling.liveTracked <= profile.sampling.samples, `live ${profile.sampling.liveTracked}`);
    // The last tick counts the file up to itself; only the 16-byte exit record follows it.
    const [samples] = readdirSync(path.join(envDir, 'profile')).filter((f) => /^samples\.\d+\.bin$/.test(f));
    assert.equal(profile.sampling.bytesWritten + 16, statSync(path.join(envDir, 'profile', samples)).size);
    const text = alloclab(['hotspots', out, '--by', 'calls']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^note: \d+ of \d+ samples were lost/m);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('profile: an --env that clashes with the backend is an input error', () => {
  const r = alloclab(['profile', '--backend', 'jemalloc-prof', '--env', 'mimalloc', '--', nativeProgram('proftest-sites'), '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--env mimalloc clashes with the jemalloc-prof backend/);
  const depth = alloclab(['profile', '--backend', 'probe-sampled', '--depth', '500', '--', nativeProgram('proftest-sites'), '0']);
  assert.equal(depth.code, 2);
  assert.match(depth.stderr, /--depth must be/);
  const unknown = alloclab(['profile', '--backend', 'probe-sampled', '--env', 'nosuch', '--', nativeProgram('proftest-sites'), '0']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /nosuch/);
});

test('profile SCENARIO takes backend and interval from its "profile" field; an unknown backend is a scenario error at its line', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-cli-scen-sampled-'));
  try {
    const scenario = path.join(dir, 'sites.alloclab.json');
    const body = (backend: string) => JSON.stringify({
      name: 'sites',
      target: { command: nativeProgram('proftest-sites'), args: ['2000'] },
      environments: ['glibc'],
      profile: { backend, intervalBytes: 65536 },
      phases: [{ name: 'warm', kind: 'warmup', duration: '400ms' }, { name: 'steady', kind: 'load', duration: '1500ms' }],
    }, null, 2);
    writeFileSync(scenario, body('probe-sampled'));
    const out = path.join(dir, 'run');
    const r = alloclab(['profile', '--out', out, '--json', scenario], dir);
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.backend, 'probe-sampled');
    assert.equal(doc.hotspots[0].line, markerLine('sites.c', 'leak'));
    assert.ok(doc.hotspots[0].growthBytesPerMin > 0);
    const prof = JSON.parse(readFileSync(path.join(out, '01-glibc', 'profile.json'), 'utf8'));
    assert.equal(prof.sampling.intervalBytes, 65536);
    const env = alloclab(['hotspots', out, '--env', 'glibc', '--json']);
    assert.equal(env.code, 0, env.stderr);
    const wrongEnv = alloclab(['hotspots', out, '--env', 'jemalloc']);
    assert.equal(wrongEnv.code, 2);
    writeFileSync(scenario, body('nosuch'));
    const bad = alloclab(['profile', '--out', path.join(dir, 'run2'), scenario], dir);
    assert.equal(bad.code, 2);
    const line = body('nosuch').split('\n').findIndex((l) => l.includes('"nosuch"')) + 1;
    assert.match(bad.stderr, new RegExp(`sites\\.alloclab\\.json:${line}:\\d+: .*unknown attribution backend "nosuch"`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
