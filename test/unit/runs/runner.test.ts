// The orchestrator end to end, against real processes: environments applied or not, phases with load,
// crashes, readiness failures, cancellation, and nothing left running afterwards.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { compareScenario, executeRun } from '../../../src/core/runs/runner';
import { openRun } from '../../../src/core/runs/store';
import { parseScenarioText } from '../../../src/core/stress/scenario';
import { nativeProgram } from '../support/paths';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-runner-'));

function alive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

test('compare: glibc and jemalloc on /bin/sleep, jemalloc verified from the maps, nothing left running', async () => {
  const loaded = compareScenario('/bin/sleep', ['30'], 1500, ['glibc', 'jemalloc'], os.tmpdir());
  const { runDir, record } = await executeRun({ kind: 'compare', loaded, runsDir });
  assert.equal(record.complete, true);
  assert.equal(record.environments.length, 2);
  const [g, j] = record.environments;
  assert.equal(g.verification?.applied, true);
  assert.equal(g.verification?.mappedAllocator, null);
  assert.equal(j.verification?.applied, true);
  assert.match(j.verification!.mappedAllocator!, /libjemalloc\.so/);
  assert.match(j.appliedEnv.LD_PRELOAD, /libjemalloc\.so/);
  for (const e of record.environments) {
    assert.ok(e.metrics!.samples >= 15, `${e.env}: ${e.metrics!.samples} samples`);
    assert.equal(e.exit?.expected, true);
    assert.ok(!alive(e.pid), `${e.env} pid ${e.pid} still alive`);
  }
  const stored = openRun(runDir);
  assert.equal(stored.environments[1].samples.length, record.environments[1].metrics!.samples);
  assert.ok(stored.environments[0].events.some((e) => e.type === 'exit'));
});

test('a library that does not exist is reported not applied, and is not measured', async () => {
  const loaded = compareScenario('/bin/sleep', ['30'], 1000, ['bogus'], os.tmpdir());
  const { record } = await executeRun({ kind: 'compare', loaded, runsDir, allocators: { custom: [{ id: 'bogus', library: '/nonexistent/libbogus.so' }] } });
  const [b] = record.environments;
  assert.equal(b.verification?.applied, false);
  assert.match(b.verification!.notAppliedReason!, /nonexistent\/libbogus\.so/);
  assert.equal(b.metrics, null);
  assert.match(record.verdict!, /not applied/);
});

test('a target that crashes keeps its samples and the run says what happened', async () => {
  const loaded = compareScenario(nativeProgram('crash-segv'), ['1000'], 5000, ['glibc'], os.tmpdir());
  const { record } = await executeRun({ kind: 'compare', loaded, runsDir });
  const [e] = record.environments;
  assert.equal(e.exit?.signal, 'SIGSEGV');
  assert.equal(e.exit?.expected, false);
  assert.match(e.error!, /SIGSEGV/);
  assert.ok((e.metrics?.samples ?? 0) > 0, 'samples before the crash are kept');
  assert.match(record.verdict!, /SIGSEGV/);
});

test('a target that never gets ready fails with a clear error and is stopped', async () => {
  const text = JSON.stringify({
    name: 'never-ready', target: { command: '/bin/sleep', args: ['30'], ready: { tcpPort: '${port}', timeout: '800ms' } },
    environments: ['glibc'], phases: [{ name: 'load', kind: 'load', duration: '1s' }],
  });
  const loaded = { file: null, baseDir: os.tmpdir(), scenario: parseScenarioText(text, 'inline.alloclab.json') };
  const { record } = await executeRun({ kind: 'scenario', loaded, runsDir });
  const [e] = record.environments;
  assert.match(e.error!, /ready/i);
  assert.ok(!alive(e.pid));
});

test('cancelling stops the target at once and keeps the run, marked cancelled', async () => {
  const loaded = compareScenario('/bin/sleep', ['60'], 30_000, ['glibc', 'jemalloc'], os.tmpdir());
  const controller = new AbortController();
  const started = Date.now();
  setTimeout(() => controller.abort(), 1200);
  const { record } = await executeRun({ kind: 'compare', loaded, runsDir, signal: controller.signal });
  assert.ok(Date.now() - started < 10_000, 'cancel returned promptly');
  assert.equal(record.cancelled, true);
  assert.equal(record.environments.length, 1, 'the second environment never started');
  assert.ok(!alive(record.environments[0].pid));
  assert.ok(record.environments[0].metrics!.samples > 5);
});

/** A scenario of a short load phase (no driver) and an idle phase, over glibc and jemalloc; each target is given its own ${port}. */
function idleOut(name: string, command: string, args: string[], idle = '4s', env: Record<string, string> = { PORT: '${port}' }) {
  const scenario = parseScenarioText(JSON.stringify({
    name, target: { command, args, env }, environments: ['glibc', 'jemalloc'],
    phases: [{ name: 'load', kind: 'load', duration: '1s' }, { name: 'idle', kind: 'idle', duration: idle }],
  }), `${name}.alloclab.json`);
  return { file: null, baseDir: os.tmpdir(), scenario };
}

/** When an environment's target stopped, on the wall clock (its record opens before the spawn, so this is not after). */
const endedBy = (e: { startedAt: string; durationMs: number | null }) => Date.parse(e.startedAt) + (e.durationMs ?? 0);

test('an environment idling out quietly lets the next one start; both run to their end and nothing is left running', async () => {
  const { runDir, record } = await executeRun({ kind: 'scenario', loaded: idleOut('quiet', '/bin/sleep', ['60']), runsDir });
  const [g, j] = record.environments;
  const [gEvents, jEvents] = openRun(runDir).environments.map((e) => e.events);
  for (const e of [g, j]) {
    assert.equal(e.error, null, String(e.error));
    assert.deepEqual(e.metrics!.phases.map((p) => p.kind), ['load', 'idle']);
    assert.ok(!alive(e.pid), `${e.env} pid ${e.pid} still alive`);
  }
  const handedOver = (events: typeof gEvents) => events.some((e) => e.type === 'note' && /idle and quiet/.test(e.message));
  assert.ok(handedOver(gEvents), 'the first environment says it handed over');
  assert.equal(handedOver(jEvents), false, 'the last has no one to hand over to');
  assert.ok(Date.parse(j.startedAt) < endedBy(g) - 1000, `jemalloc started ${endedBy(g) - Date.parse(j.startedAt)} ms before glibc ended`);
  // The idle phase still ran its full length while the next environment started.
  const idle = gEvents.find((e) => e.type === 'phase-end' && e.phase === 'idle');
  assert.equal(idle?.type === 'phase-end' && idle.reason, 'duration');
});

test('a target that keeps working in its idle phase does not hand over: the next environment waits for it', async () => {
  const { runDir, record } = await executeRun({ kind: 'scenario', loaded: idleOut('busy', '/bin/sh', ['-c', 'while :; do :; done'], '3s'), runsDir });
  const [g, j] = record.environments;
  assert.equal(openRun(runDir).environments[0].events.some((e) => e.type === 'note' && /idle and quiet/.test(e.message)), false);
  assert.ok(Date.parse(j.startedAt) >= endedBy(g) - 1, 'jemalloc started only once glibc had stopped');
  for (const e of [g, j]) assert.ok(!alive(e.pid));
});

test('a target without its own ${port} is not started beside the one idling out (a fixed port would collide)', async () => {
  const { record } = await executeRun({ kind: 'scenario', loaded: idleOut('fixed-port', '/bin/sleep', ['60'], '4s', {}), runsDir });
  const [g, j] = record.environments;
  assert.ok(Date.parse(j.startedAt) >= endedBy(g) - 1, 'jemalloc started only once glibc had stopped');
});

test('a scenario of idle phases only has nothing to idle out from: its environments run one after another', async () => {
  const scenario = parseScenarioText(JSON.stringify({
    name: 'only-idle', target: { command: '/bin/sleep', args: ['60'], env: { PORT: '${port}' } }, environments: ['glibc', 'jemalloc'],
    phases: [{ name: 'idle', kind: 'idle', duration: '3s' }],
  }), 'only-idle.alloclab.json');
  const { record } = await executeRun({ kind: 'scenario', loaded: { file: null, baseDir: os.tmpdir(), scenario }, runsDir });
  const [g, j] = record.environments;
  assert.ok(Date.parse(j.startedAt) >= endedBy(g) - 1, 'jemalloc started only once glibc had stopped');
});

test('cancelling while one environment idles out and the next runs stops both and keeps the run', async () => {
  const controller = new AbortController();
  const started = Date.now();
  const observer = { environmentStarted: (i: number) => { if (i === 1) setTimeout(() => controller.abort(), 300); } };
  const { runDir, record } = await executeRun({ kind: 'scenario', loaded: idleOut('cancel', '/bin/sleep', ['60'], '30s'), runsDir, signal: controller.signal }, observer);
  assert.ok(Date.now() - started < 15_000, 'cancel returned promptly');
  assert.equal(record.cancelled, true);
  assert.equal(record.environments.length, 2);
  for (const e of record.environments) assert.ok(!alive(e.pid), `${e.env} pid ${e.pid} still alive`);
  const idle = openRun(runDir).environments[0].events.find((x) => x.type === 'phase-end' && x.phase === 'idle');
  assert.equal(idle?.type === 'phase-end' && idle.reason, 'cancelled', 'glibc was stopped in its idle phase of 30 s');
});

test('until settled, a load phase far apart from an earlier environment\'s ends on the comparison', async () => {
  // The corpus's leak, as two environments that differ only in what each request keeps: 128 KiB (150 MiB/min at
  // 20 requests/s), then 8 KiB (9 MiB/min). A rise must hold for 15 s and half the phase, longer than this 20 s
  // bound: only the comparison can end the second one early (far below, and growing at under a quarter of the rate).
  const scenario = parseScenarioText(JSON.stringify({
    name: 'comparison', untilSettled: true,
    target: { command: '/bin/sh', args: ['-c', 'exec "$0" "$1" "$BYTES"', nativeProgram('diag-leak'), '${port}'], ready: { tcpPort: '${port}', timeout: '10s' } },
    environments: ['fast', 'slow'], sampling: { intervalMs: 100 },
    phases: [{ name: 'load', kind: 'load', duration: '20s', load: { driver: 'http', method: 'GET', url: 'http://127.0.0.1:${port}/work', rate: 20 } }],
  }), 'comparison.alloclab.json');
  const progress: string[] = [];
  const allocators = { custom: [{ id: 'fast', env: { BYTES: String(128 << 10) } }, { id: 'slow', env: { BYTES: String(8 << 10) } }] };
  const { runDir, record } = await executeRun({ kind: 'scenario', loaded: { file: null, baseDir: os.tmpdir(), scenario }, runsDir, allocators },
    { progress: (m: string) => progress.push(m) });
  const [fast, slow] = record.environments;
  for (const e of [fast, slow]) assert.equal(e.error, null, String(e.error));
  const loadEnd = (i: number) => openRun(runDir).environments[i].events.find((e) => e.type === 'phase-end' && e.phase === 'load');
  const [fastEnd, slowEnd] = [loadEnd(0), loadEnd(1)];
  assert.ok(fastEnd?.type === 'phase-end' && slowEnd?.type === 'phase-end');
  assert.equal(fast.metrics!.trajectory!.class, 'rising');
  assert.equal(fastEnd.reason, 'duration', 'the first has nothing to be compared with');
  assert.ok(progress.some((m) => /^slow: load settled after \d+ s \(RSS at most [\d.]+ MiB by the bound, at most half of fast's [\d.]+ MiB\)/.test(m)), progress.join('\n'));
  assert.equal(slowEnd.reason, 'settled');
  assert.equal(slowEnd.settledOn, 'comparison');
  const [load] = slow.metrics!.phases;
  assert.equal(load.settledOn, 'comparison');
  assert.ok(load.endMs - load.startMs < 19_000, `ended ${load.endMs - load.startMs} ms in: not before its bound`);
  for (const e of [fast, slow]) assert.ok(!alive(e.pid));
});

test('a scenario with phases and built-in HTTP load against a loopback server records per-phase metrics', async () => {
  const server = `const http=require('http');const keep=[];http.createServer((q,s)=>{let b='';q.on('data',d=>b+=d);q.on('end',()=>{keep.push(Buffer.alloc(4096,1));s.end('ok')})}).listen(+process.argv[1],'127.0.0.1',()=>console.log('listening'))`;
  const text = `{
    // a node server that keeps 4 KiB per request: RSS grows under load
    "name": "phases",
    "target": { "command": "${process.execPath}", "args": ["-e", ${JSON.stringify(server)}, "\${port}"], "ready": { "logLine": "listening", "timeout": "10s" } },
    "environments": ["glibc"],
    "phases": [
      { "name": "warmup", "kind": "warmup", "duration": "500ms", "load": { "driver": "http", "method": "POST", "url": "http://127.0.0.1:\${port}/x", "body": "{\\"n\\": {{counter}}}", "concurrency": 4 } },
      { "name": "load", "kind": "load", "duration": "2s", "load": { "driver": "http", "method": "POST", "url": "http://127.0.0.1:\${port}/x", "body": "{\\"n\\": {{counter}}}", "concurrency": 8 } },
      { "name": "idle", "kind": "idle", "duration": "1s" }
    ]
  }`;
  const loaded = { file: null, baseDir: os.tmpdir(), scenario: parseScenarioText(text, 'phases.alloclab.json') };
  const { record } = await executeRun({ kind: 'scenario', loaded, runsDir });
  const [e] = record.environments;
  assert.equal(e.error, null, String(e.error));
  const m = e.metrics!;
  assert.deepEqual(m.phases.map((p) => p.kind), ['warmup', 'load', 'idle']);
  const load = m.phases[1].load!;
  assert.ok(load.requests > 50, `requests ${load.requests}`);
  assert.equal(load.errors.status + load.errors.connect, 0);
  assert.ok(m.throughputRps! > 0);
  assert.ok(m.latencyP99Ms! > 0);
  // The server keeps what each request allocated, so RSS grew under load: the idle phase says what share came back.
  const returned = m.phases[2].returnedFraction;
  assert.ok(typeof returned === 'number' && returned >= 0 && returned <= 1, `returnedFraction ${returned}`);
});

test('with the ledger on, the probe counts the live heap of every environment (preloaded before the allocator)', async () => {
  const loaded = compareScenario(nativeProgram('alloc-known'), ['48'], 1600, ['glibc', 'jemalloc'], os.tmpdir());
  const { record } = await executeRun({ kind: 'compare', loaded, runsDir, ledger: true });
  for (const e of record.environments) {
    assert.equal(e.verification?.applied, true, `${e.env}: ${e.verification?.notAppliedReason}`);
    assert.match(e.appliedEnv.LD_PRELOAD, /^\S*liballoclab-probe\.so/, 'the probe comes first');
    const live = e.metrics!.liveHeapBytes!;
    assert.ok(Math.abs(live - 48 * 1024 * 1024) < 0.05 * 48 * 1024 * 1024, `${e.env}: live heap ${live}`);
    assert.ok(e.metrics!.allocatorHeldBytes != null);
  }
  assert.match(record.environments[1].appliedEnv.LD_PRELOAD, /liballoclab-probe\.so.*libjemalloc/);
  assert.deepEqual(fs.readdirSync('/dev/shm').filter((f) => f.includes(record.id)), [], 'probe files removed');
});
