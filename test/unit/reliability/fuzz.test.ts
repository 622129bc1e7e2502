// Fuzzing every reader: the scenario, run.json, sample and event lines, heaptrack, massif, jemalloc .heap dumps
// and profile.json, at byte level and at type level, with a fixed seed. Each case goes through the CLI command a
// user would run (show, hotspots; the scenario through its parser, since `run` would start it), in this process
// for volume, and a few through the real CLI process. A crash is an uncaught exception, a stack trace, or an exit
// code other than 0, 1 or 2; there must be none. CI runs a few seconds; `npm run fuzz` runs longer
// (ALLOCLAB_FUZZ_CASES cases per reader, ALLOCLAB_FUZZ_SEED to vary the seed).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { AlloclabError } from '../../../src/core/errors';
import { openProfile } from '../../../src/core/profilers';
import { openRun, RunWriter, SAMPLES_FILE } from '../../../src/core/runs/store';
import { expandPhases, parseScenarioText, phaseLimits } from '../../../src/core/stress/scenario';
import { repoRoot } from '../support/paths';
import { classify, mutateBytes, mutateJson, mutateNdjson, processCrash, rng, runCliInProcess, type CaseResult, type Random } from './fuzzer';
import { runCli, tempDir } from './support';

const CASES = Number(process.env.ALLOCLAB_FUZZ_CASES ?? 30);
const PROCESS_CASES = Number(process.env.ALLOCLAB_FUZZ_PROCESS_CASES ?? 1);
const SEED = Number(process.env.ALLOCLAB_FUZZ_SEED ?? 20261201);
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'profiles');

const SCENARIO = `// a scenario with every kind of field
{
  "name": "fuzz",
  "target": { "command": "/bin/sleep", "args": ["30", "\${port}"], "env": { "A": "1" }, "ready": { "tcpPort": "\${port}", "timeout": "5s" } },
  "environments": ["glibc", "jemalloc"],
  "sampling": { "intervalMs": 20 },
  "repeat": 2,
  "failOn": "growth>5MiB/min,peak>+20%",
  "lists": { "names": ["a", "b"] },
  "phases": [
    { "name": "warm", "kind": "warmup", "duration": "1s", "load": { "driver": "http", "url": "http://127.0.0.1:\${port}/x?{{list names}}", "concurrency": 4 } },
    { "name": "load", "kind": "load", "duration": "2s", "repeat": 2, "load": { "driver": "http", "method": "POST", "url": "http://127.0.0.1:\${port}/", "rate": 100, "body": "{{randomHex 8}}", "headers": { "x": "{{counter}}" } } },
    { "name": "drive", "kind": "load", "duration": "1s", "load": { "driver": "command", "command": "/bin/true", "args": ["\${url}", "\${duration}"], "url": "http://127.0.0.1:\${port}/" } },
    { "name": "rest", "kind": "idle", "duration": "1s" }
  ]
}
`;

/** A finished run with two environments, its metrics and diagnosis derived as the CLI derives them. */
function seedRun(parent: string): string {
  const w = RunWriter.create({
    runsDir: parent, name: 'seed', kind: 'scenario', scenarioPath: null,
    scenario: { environments: ['glibc', 'jemalloc', 'tcmalloc'], repeat: 1, phases: [{ name: 'load', kind: 'load', duration: '2s' }, { name: 'rest', kind: 'idle', duration: '1s' }] },
  });
  for (const [i, env] of ['glibc', 'jemalloc'].entries()) {
    const verification = { applied: true, mappedAllocator: env === 'glibc' ? null : '/usr/lib/libjemalloc.so.2', mappedLibraries: ['/usr/lib/libc.so.6'] };
    const rec = w.addEnvironment({ env, label: env, repetition: 1, appliedEnv: env === 'glibc' ? {} : { LD_PRELOAD: '/usr/lib/libjemalloc.so.2' }, pid: 100 + i, startedAt: new Date(0).toISOString(), durationMs: 3000, verification, exit: { code: null, signal: 'SIGTERM', expected: true }, error: null, metrics: null });
    const samples = Array.from({ length: 60 }, (_, k) => ({ t: k * 50, rssBytes: 8e6 + k * (i + 1) * 5e4, anonBytes: 6e6 + k * 4e4, fileBytes: 2e6, pssBytes: 7e6, cpuMs: k * 3, threads: 4, processes: 1 }));
    fs.writeFileSync(w.envPath(rec, SAMPLES_FILE), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
    const load = { requests: 900, errors: { status: 3, connect: 0, timeout: 1, other: 0 }, durationMs: 2000, throughputRps: 450, latencyMs: { p50: 1, p90: 2, p99: 5, max: 9 } };
    for (const e of [
      { t: 0, type: 'spawn', pid: 100 + i, command: '/bin/x', args: ['a'] }, { t: 20, type: 'ready', how: 'tcp' }, { t: 25, type: 'verified', verification },
      { t: 30, type: 'phase-start', phase: 'load', kind: 'load', index: 0 }, { t: 2030, type: 'phase-end', phase: 'load', kind: 'load', index: 0, load },
      { t: 2030, type: 'phase-start', phase: 'rest', kind: 'idle', index: 1 }, { t: 2960, type: 'phase-end', phase: 'rest', kind: 'idle', index: 1 },
      { t: 2990, type: 'note', level: 'warning', message: 'n' }, { t: 3000, type: 'exit', code: null, signal: 'SIGTERM', expected: true },
    ]) w.appendEvent(rec, e as never);
  }
  w.record.complete = true;
  w.save();
  // Store the derived parts too (metrics, diagnosis), so the mutations reach them as a real run.json holds them.
  const run = openRun(w.dir);
  fs.writeFileSync(path.join(w.dir, 'run.json'), JSON.stringify(run.record, null, 2));
  return w.dir;
}

function copyDir(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

interface Reader {
  name: string;
  /** Writes case `i` (mutated with `r`) under `dir` and returns the CLI arguments that read it, or a direct call. */
  make(r: Random, dir: string, i: number): { args: string[] } | { call: () => unknown };
  cases: number;
  /** False where damage is skipped by design (a bad sample or event line is dropped, the rest is shown). */
  errorsExpected?: boolean;
}

function readers(work: string): Reader[] {
  const runSeed = seedRun(path.join(work, 'seed-runs'));
  const runJson = JSON.parse(fs.readFileSync(path.join(runSeed, 'run.json'), 'utf8'));
  const massif = fs.readFileSync(path.join(fixtures, 'massif.out.sites'));
  const heaptrackText = execFileSync('zstd', ['-dc', path.join(fixtures, 'heaptrack.sites.zst')], { maxBuffer: 64 << 20 }).toString('latin1');
  // The first 60 kB (whole lines): strings, frames, traces and thousands of events, small enough for many cases.
  const heaptrack = Buffer.from(heaptrackText.slice(0, heaptrackText.lastIndexOf('\n', 60_000) + 1), 'latin1');
  const jeprofDir = path.join(fixtures, 'jeprof-sites');
  const jeprofNames = fs.readdirSync(jeprofDir).sort();
  const profileJson = path.join(work, 'seed-profile.json');
  const byteOrType = (r: Random) => r() < 0.5;
  return [
    {
      name: 'scenario', cases: CASES * 2,
      make: (r, dir) => {
        let text = SCENARIO;
        if (byteOrType(r)) text = mutateBytes(r, Buffer.from(text)).toString('utf8');
        else {
          // Type level on the JSON value (comments dropped), written back as the file a user would have.
          const value = JSON.parse(text.slice(text.indexOf('{')));
          text = JSON.stringify(mutateJson(r, value), null, 2);
        }
        const file = path.join(dir, 'fuzz.alloclab.json');
        fs.writeFileSync(file, text);
        return { call: () => { for (const p of expandPhases(parseScenarioText(text, file, dir).phases)) phaseLimits(p); } };
      },
    },
    {
      name: 'run.json', cases: CASES,
      make: (r, dir, i) => {
        const run = path.join(dir, 'run');
        copyDir(runSeed, run);
        const file = path.join(run, 'run.json');
        if (byteOrType(r)) fs.writeFileSync(file, mutateBytes(r, fs.readFileSync(file)));
        else fs.writeFileSync(file, JSON.stringify(mutateJson(r, runJson)));
        return { args: ['show', run, ...(i % 2 ? ['--json'] : [])] };
      },
    },
    {
      name: 'samples+events', cases: CASES, errorsExpected: false,
      make: (r, dir, i) => {
        const run = path.join(dir, 'run');
        copyDir(runSeed, run);
        const file = path.join(run, `0${1 + (i % 2)}-${i % 2 ? 'jemalloc' : 'glibc'}`, i % 4 < 2 ? 'samples.ndjson' : 'events.ndjson');
        const text = fs.readFileSync(file, 'utf8');
        fs.writeFileSync(file, byteOrType(r) ? mutateBytes(r, Buffer.from(text)) : mutateNdjson(r, text));
        return { args: ['show', run, ...(i % 3 === 0 ? ['--json'] : [])] };
      },
    },
    {
      name: 'heaptrack', cases: CASES,
      make: (r, dir) => {
        const file = path.join(dir, 'heaptrack.fuzz.gz');
        fs.writeFileSync(file, gzipSync(mutateBytes(r, heaptrack), { level: 1 }));
        return { args: ['hotspots', file, '--json', '--by', pick(r)] };
      },
    },
    {
      name: 'massif', cases: CASES,
      make: (r, dir) => {
        const file = path.join(dir, 'massif.out.fuzz');
        fs.writeFileSync(file, mutateBytes(r, massif));
        return { args: ['hotspots', file, '--json', '--by', pick(r)] };
      },
    },
    {
      // Symbolizing runs a program per case: fewer cases, the same kinds of damage.
      name: 'jemalloc .heap', cases: Math.max(8, Math.round(CASES / 4)),
      make: (r, dir) => {
        const heaps = path.join(dir, 'heaps');
        fs.mkdirSync(heaps);
        const victim = Math.floor(r() * jeprofNames.length);
        jeprofNames.forEach((name, k) => {
          const data = fs.readFileSync(path.join(jeprofDir, name));
          fs.writeFileSync(path.join(heaps, name), k === victim ? mutateBytes(r, data) : data);
        });
        return { args: ['hotspots', heaps, '--json', '--by', pick(r)] };
      },
    },
    {
      name: 'profile.json', cases: CASES,
      make: (r, dir, i) => {
        const seed = JSON.parse(fs.readFileSync(profileJson, 'utf8'));
        const file = path.join(dir, 'profile.json');
        if (byteOrType(r)) fs.writeFileSync(file, mutateBytes(r, Buffer.from(JSON.stringify(seed))));
        else fs.writeFileSync(file, JSON.stringify(mutateJson(r, seed)));
        return { args: ['hotspots', dir, ...(i % 2 ? ['--json'] : []), '--by', pick(r)] };
      },
    },
  ];
}

function pick(r: Random): string {
  return ['growth', 'peak', 'calls', 'leaked'][Math.floor(r() * 4)];
}

test('the classifier tells crashes from clean errors', async () => {
  assert.equal((await classify(() => { throw new TypeError('x is null'); })).outcome, 'crash');
  assert.equal((await classify(() => { throw new RangeError('Maximum call stack size exceeded'); })).outcome, 'crash');
  assert.equal((await classify(() => process.stderr.write(new Error('printed').stack + '\n'))).outcome, 'crash');
  assert.equal((await classify(() => { throw new AlloclabError('bad input', 'input'); })).outcome, 'clean-error');
  assert.equal((await runCliInProcess(['show', '--no-such-option'])).outcome, 'clean-error');
  assert.equal((await classify(() => 1)).outcome, 'ok');
  assert.equal(processCrash({ status: 134, signal: null, stderr: '' }), 'exit 134');
  assert.match(processCrash({ status: 1, signal: null, stderr: 'alloclab: internal error: TypeError: x\n    at f (/a/b.js:1:2)\n' }) ?? '', /stack trace/);
  assert.equal(processCrash({ status: 2, signal: null, stderr: 'alloclab: /x/run.json is not a valid run\n' }), null);
});

test(`fuzz every reader at byte and type level (seed ${SEED}): no crash`, { timeout: 30 * 60_000 }, async () => {
  const work = tempDir('fuzz');
  // profile.json as `alloclab profile` writes it: the model of a real profile (with growth, peak and counts).
  fs.writeFileSync(path.join(work, 'seed-profile.json'), JSON.stringify(await openProfile(path.join(fixtures, 'massif.out.sites'))));
  const rows: string[] = [];
  const crashes: string[] = [];
  const noErrorPath: string[] = [];
  const r = rng(SEED);
  for (const reader of readers(work)) {
    const counts = { ok: 0, 'clean-error': 0, crash: 0 };
    const started = Date.now();
    let processChecked = 0;
    for (let i = 0; i < reader.cases; i++) {
      const dir = path.join(work, `${reader.name.replace(/\W/g, '_')}-${i}`);
      fs.mkdirSync(dir);
      const how = reader.make(r, dir, i);
      const res: CaseResult = 'args' in how ? await runCliInProcess(how.args) : await classify(how.call);
      counts[res.outcome]++;
      if (res.outcome === 'crash') crashes.push(`${reader.name} case ${i} (${dir}): ${res.detail.slice(0, 1500)}`);
      // The real process too, for the first cases: exit code and stderr as the user sees them.
      if ('args' in how && processChecked < PROCESS_CASES) {
        processChecked++;
        const p = runCli(how.args, work, 60_000);
        const crash = processCrash(p);
        if (crash) {
          counts.crash++;
          crashes.push(`${reader.name} case ${i} as a process (${dir}): ${crash}`);
        }
      }
      if (res.outcome !== 'crash') fs.rmSync(dir, { recursive: true, force: true });
    }
    rows.push(`${reader.name.padEnd(16)} ${String(reader.cases).padStart(6)} ${String(counts.ok).padStart(6)} ${String(counts['clean-error']).padStart(12)} ${String(counts.crash).padStart(7)} ${String(Date.now() - started).padStart(7)}`);
    if (reader.errorsExpected !== false) noErrorPath.push(...(counts['clean-error'] === 0 ? [reader.name] : []));
    else if (counts.ok === 0) noErrorPath.push(`${reader.name} (nothing read)`);
  }
  console.log(`\nfuzz (seed ${SEED}, ${CASES} base cases):\nreader            cases     ok  clean error  crashes      ms\n${rows.join('\n')}`);
  assert.equal(crashes.length, 0, `${crashes.length} crashes:\n${crashes.slice(0, 5).join('\n\n')}`);
  assert.deepEqual(noErrorPath, [], 'the mutations of these readers reached no error path, so they tested nothing');
  fs.rmSync(work, { recursive: true, force: true });
});
