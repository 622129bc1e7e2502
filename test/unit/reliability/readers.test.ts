// Damaged, hostile and odd inputs as a user meets them: corrupt run folders, FIFOs where files belong, huge
// massif files, profiles of one endless line, dumps cut short, a reader that closes the pipe. Each is a clear
// error or a correct reading; none is a stack trace or a hang.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseHeapDump, ProfileFormatError, readHeaptrackProfile, readJeprofProfile, readMassifProfile, readProfileJson } from '../../../src/core/profilers';
import { openRun, RunWriter, SAMPLES_FILE, EVENTS_FILE } from '../../../src/core/runs/store';
import { repoRoot } from '../support/paths';
import { cliPath, runCli, STACK_TRACE, tempDir } from './support';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'profiles');

/** A run folder like a real one: two planned environments, the first measured, written through the store. */
function makeRun(parent: string, opts: { cancelled?: boolean; verificationInRunJson?: boolean } = {}): string {
  const w = RunWriter.create({
    runsDir: parent, name: 'corrupt', kind: 'compare', scenarioPath: null,
    scenario: { environments: ['glibc', 'jemalloc'], phases: [{ name: 'run', kind: 'load', duration: '1s' }] },
  });
  const verification = { applied: true, mappedAllocator: null, mappedLibraries: ['/usr/lib/x86_64-linux-gnu/libc.so.6'] };
  const rec = w.addEnvironment({
    env: 'glibc', label: 'glibc', repetition: 1, appliedEnv: {}, pid: 4242, startedAt: new Date().toISOString(), durationMs: null,
    verification: opts.verificationInRunJson === false ? null : verification, exit: null, error: null, metrics: null,
  });
  const samples = Array.from({ length: 50 }, (_, i) => JSON.stringify({ t: i * 20, rssBytes: 10_000_000 + i * 1000 }));
  fs.writeFileSync(w.envPath(rec, SAMPLES_FILE), samples.join('\n') + '\n');
  for (const e of [
    { t: 0, type: 'spawn', pid: 4242, command: '/bin/sleep', args: ['5'] },
    { t: 5, type: 'verified', verification },
    { t: 6, type: 'phase-start', phase: 'run', kind: 'load', index: 0 },
  ]) w.appendEvent(rec, e as never);
  w.record.cancelled = !!opts.cancelled;
  w.record.complete = !!opts.cancelled;
  w.save();
  return w.dir;
}

function editRunJson(dir: string, edit: (r: Record<string, unknown>) => unknown): void {
  const file = path.join(dir, 'run.json');
  fs.writeFileSync(file, JSON.stringify(edit(JSON.parse(fs.readFileSync(file, 'utf8')))));
}

test('show on a damaged run.json is an input error naming the file and the field', () => {
  const cwd = tempDir('readers');
  const cases: [string, (r: Record<string, unknown>) => unknown, RegExp][] = [
    ['null', () => null, /run\.json/],
    ['no environments', (r) => ({ ...r, environments: undefined }), /environments/],
    ['a null environment', (r) => ({ ...r, environments: [null] }), /environments\.0/],
    ['a number for a label', (r) => ({ ...r, environments: [{ ...(r.environments as object[])[0], label: 7 }] }), /environments\.0\.label/],
    ['a folder outside the run', (r) => ({ ...r, environments: [{ ...(r.environments as object[])[0], dir: '../..' }] }), /environments\.0\.dir/],
    ['an array', () => [], /run\.json/],
  ];
  for (const [what, edit, message] of cases) {
    const dir = makeRun(cwd);
    editRunJson(dir, edit);
    const r = runCli(['show', dir], cwd);
    assert.equal(r.status, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, message, what);
    assert.doesNotMatch(r.stderr, STACK_TRACE, what);
  }
});

test('show skips null and foreign lines in samples and events, and drops damaged metrics for recomputed ones', () => {
  const cwd = tempDir('readers');
  const dir = makeRun(cwd);
  const env = path.join(dir, '01-glibc');
  fs.appendFileSync(path.join(env, SAMPLES_FILE), 'null\n[]\n{"t":"x","rssBytes":1}\n7\n');
  fs.appendFileSync(path.join(env, EVENTS_FILE), 'null\n{"type":"verified","t":9,"verification":null}\n{"type":"exit"}\n"s"\n'
    // A known event of the right shape and one of a type from a newer version are kept.
    + '{"t":10,"type":"trim","pid":1,"rssBeforeBytes":9,"rssAfterBytes":5,"returnedBytes":4,"allocator":"glibc"}\n{"t":11,"type":"from-the-future","x":1}\n');
  editRunJson(dir, (r) => ({ ...r, environments: [{ ...(r.environments as object[])[0], metrics: { samples: 'many' } }] }));
  const run = openRun(dir);
  assert.equal(run.environments[0].samples.length, 50);
  assert.deepEqual(run.environments[0].events.map((e) => e.type), ['spawn', 'verified', 'phase-start', 'trim', 'from-the-future']);
  assert.equal(run.environments[0].record.metrics?.peakRssBytes, 10_000_000 + 49 * 1000, 'recomputed from the good samples');
  const r = runCli(['show', dir], cwd);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /glibc\s+yes/);
  const json = runCli(['show', dir, '--json'], cwd);
  assert.equal(json.status, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).environments[0].samples, 50);
});

test('show of a killed run takes its verification from the events; a cancelled run says so and names what never ran', () => {
  const cwd = tempDir('readers');
  const killed = makeRun(cwd, { verificationInRunJson: false });
  const r = runCli(['show', killed], cwd);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /glibc\s+yes/, 'not "applied -"');
  assert.match(r.stdout, /incomplete/);
  assert.match(r.stdout, /Not run .*: jemalloc\./);

  const cancelled = makeRun(cwd, { cancelled: true });
  const c = runCli(['show', cancelled], cwd);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /cancelled/);
  assert.match(c.stdout, /Not run .*: jemalloc\./);
  assert.deepEqual(JSON.parse(runCli(['show', cancelled, '--json'], cwd).stdout).skippedEnvironments, ['jemalloc']);
});

test('a FIFO as scenario, profile or run file is refused at once', () => {
  const cwd = tempDir('readers');
  const fifo = (name: string) => {
    const p = path.join(cwd, name);
    execFileSync('mkfifo', [p]);
    return p;
  };
  const scenario = runCli(['run', fifo('pipe.alloclab.json')], cwd, 20_000);
  assert.equal(scenario.status, 2, scenario.stderr);
  assert.match(scenario.stderr, /named pipe/);
  for (const name of ['massif.out.1', 'x.heap', 'trace.gz', 'profile.json']) {
    const r = runCli(['hotspots', fifo(name)], cwd, 20_000);
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.match(r.stderr, /named pipe/, name);
  }
  const runDir = path.join(cwd, 'run');
  fs.mkdirSync(runDir);
  execFileSync('mkfifo', [path.join(runDir, 'run.json')]);
  const show = runCli(['show', runDir], cwd, 20_000);
  assert.equal(show.status, 2, show.stderr);
  assert.match(show.stderr, /named pipe/);
});

test('a massif file of 130,000 snapshots reads without overflowing the stack', async () => {
  const dir = tempDir('readers');
  const file = path.join(dir, 'massif.out.big');
  const parts = ['desc: --time-unit=ms\ncmd: x\ntime_unit: ms\n'];
  for (let i = 0; i < 130_000; i++) {
    parts.push(`#-----------\nsnapshot=${i}\n#-----------\ntime=${i}\nmem_heap_B=${i}\nmem_heap_extra_B=0\nmem_stacks_B=0\nheap_tree=detailed\n`
      + `n1: ${i} (heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n n0: ${i} 0x1091CA: grow (big.c:${1 + (i % 2)})\n`);
  }
  fs.writeFileSync(file, parts.join(''));
  const p = await readMassifProfile(file);
  assert.equal(p.snapshots.length, 130_000);
  assert.equal(Math.max(...p.sites.map((s) => s.peakBytes)), 129_999);
});

test('a profile of one 24 MB line without a newline is a format error (read in one pass)', async () => {
  const dir = tempDir('readers');
  const line = 'x'.repeat(24 * 1024 * 1024);
  const massif = path.join(dir, 'massif.out.line');
  fs.writeFileSync(massif, `desc: ${line}`);
  await assert.rejects(readMassifProfile(massif), ProfileFormatError);
  const heaptrack = path.join(dir, 'heaptrack.line.gz');
  execFileSync('sh', ['-c', 'head -c 25165824 /dev/zero | tr "\\0" "a" | gzip -1 > "$1"', 'sh', heaptrack]);
  await assert.rejects(readHeaptrackProfile(heaptrack), ProfileFormatError);
});

test('a .heap dump cut inside its maps section is an error', async () => {
  const dir = tempDir('readers');
  const whole = fs.readFileSync(path.join(fixtures, 'jeprof-sites', 'jeprof.21067.0.i0.heap'), 'utf8');
  const mapsAt = whole.indexOf('MAPPED_LIBRARIES:');
  assert.ok(mapsAt > 0);
  const cuts = [whole.length - 5, mapsAt + 'MAPPED_LIBRARIES:\n'.length + 30, mapsAt + 'MAPPED_LIBRARIES:'.length, mapsAt + 'MAPPED_LIBRARIES:\n'.length];
  for (const cut of cuts) {
    const file = path.join(dir, `jeprof.1.${cut}.i0.heap`);
    fs.writeFileSync(file, whole.slice(0, cut));
    await assert.rejects(parseHeapDump(file), /truncated/, `cut at ${cut}`);
  }
  const file = path.join(dir, 'jeprof.1.0.i0.heap');
  fs.writeFileSync(file, whole);
  assert.ok((await parseHeapDump(file)).maps.length > 0, 'the whole dump still reads');
});

test('profile.json of the wrong shape is a format error naming the field', () => {
  const dir = tempDir('readers');
  const good = {
    schemaVersion: 1, backend: 'heaptrack', capabilities: { growth: true, peak: true, calls: true, leaked: true },
    snapshots: [{ t: 0 }, { t: 10 }], sampled: false, warnings: [], sources: [],
    sites: [{ id: 'a', frames: [{ function: 'f', file: 'a.c', line: 1, module: null, address: null }], userFrame: 0, liveBytes: [1, 2], peakBytes: 2, allocations: 1, allocatedBytes: 2, leakedBytes: 0 }],
  };
  const file = path.join(dir, 'profile.json');
  fs.writeFileSync(file, JSON.stringify(good));
  assert.equal(readProfileJson(file).sites.length, 1);
  const cases: [unknown, RegExp][] = [
    [null, /backend|the file/],
    [{ ...good, sites: [null] }, /sites\.0/],
    [{ ...good, sites: [{ ...good.sites[0], frames: [null] }] }, /sites\.0\.frames\.0/],
    [{ ...good, sites: [{ ...good.sites[0], liveBytes: [1] }] }, /sites\.0\.liveBytes: 1 values for 2 snapshots/],
    [{ ...good, sites: [{ ...good.sites[0], userFrame: 5 }] }, /sites\.0\.userFrame/],
    [{ ...good, capabilities: [] }, /capabilities/],
    [{ ...good, snapshots: 'many' }, /snapshots/],
  ];
  for (const [value, message] of cases) {
    fs.writeFileSync(file, JSON.stringify(value));
    assert.throws(() => readProfileJson(file), (e: unknown) => e instanceof ProfileFormatError && message.test(e.message), JSON.stringify(value).slice(0, 80));
  }
});

test('show piped into a reader that has stopped reading ends quietly', async () => {
  const cwd = tempDir('readers');
  const dir = makeRun(cwd);
  const child = spawn(process.execPath, [cliPath, 'show', dir], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  // Like `head -1` that is done before the command writes: our end of the pipe is closed before it starts.
  child.stdout.destroy();
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.doesNotMatch(stderr, STACK_TRACE);
  assert.doesNotMatch(stderr, /EPIPE/);
  assert.ok(code === 0, `exit ${code}: ${stderr}`);
});

test('in a set of .heap dumps, a cut last dump is left out with a warning; the others are read', async () => {
  const dir = tempDir('readers');
  const names = fs.readdirSync(path.join(fixtures, 'jeprof-sites')).sort();
  for (const name of names) fs.copyFileSync(path.join(fixtures, 'jeprof-sites', name), path.join(dir, name));
  const last = path.join(dir, names[names.length - 1]);
  const text = fs.readFileSync(last, 'utf8');
  fs.writeFileSync(last, text.slice(0, text.length - 7));
  const p = await readJeprofProfile([dir]);
  assert.equal(p.snapshots.length, names.length - 1);
  assert.ok(p.warnings.some((w) => w.includes(`${names[names.length - 1]} is truncated`)), p.warnings.join('; '));
  fs.writeFileSync(path.join(dir, names[0]), fs.readFileSync(path.join(fixtures, 'jeprof-sites', names[0]), 'utf8').slice(0, 4000));
  await assert.rejects(readJeprofProfile([dir]), /truncated/, 'a cut dump in the middle of the set is still an error');
});
