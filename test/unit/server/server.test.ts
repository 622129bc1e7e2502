// The language server driven over IPC as the extension drives it, without VS Code: custom requests, run
// notifications, cancel, and that targets die with the server.
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type { RunEvent } from '../../../src/core/model';
import { Lsp, type RunFinishedParams, type StartRunParams } from '../../../src/protocol/lsp';
import { repoRoot } from '../support/paths';

const serverJs = path.join(repoRoot, 'dist', 'server.js');
const runsDir = mkdtempSync(path.join(tmpdir(), 'alloclab-server-test-'));
const started: ChildProcess[] = [];

interface Server { child: ChildProcess; conn: MessageConnection; finished: Map<string, Promise<RunFinishedParams>>; events: Map<string, RunEvent[]>; samples: Map<string, number> }

async function startServer(): Promise<Server> {
  assert.ok(existsSync(serverJs), `${serverJs} missing: run node esbuild.mjs`);
  const child = fork(serverJs, ['--node-ipc'], { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  started.push(child);
  const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  const finished = new Map<string, Promise<RunFinishedParams>>();
  const resolvers = new Map<string, (p: RunFinishedParams) => void>();
  const events = new Map<string, RunEvent[]>();
  const samples = new Map<string, number>();
  conn.onNotification(Lsp.runFinished, (p) => resolvers.get(p.runId)?.(p));
  conn.onNotification(Lsp.event, (p) => events.set(p.runId, [...(events.get(p.runId) ?? []), p.event]));
  conn.onNotification(Lsp.samples, (p) => samples.set(p.runId, (samples.get(p.runId) ?? 0) + p.samples.length));
  conn.listen();
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await conn.sendNotification('initialized', {});
  const server: Server = { child, conn, finished, events, samples };
  // Finished promises are created before a run starts so no notification is missed.
  (server as Server & { expect(id: string): void }).expect = (id: string) => {
    finished.set(id, new Promise((r) => resolvers.set(id, r)));
  };
  return server;
}

async function startRun(s: Server, params: Omit<StartRunParams, 'runId'>): Promise<string> {
  const runId = `r${Math.random().toString(36).slice(2)}`;
  (s as Server & { expect(id: string): void }).expect(runId);
  const res = await s.conn.sendRequest(Lsp.startRun, { ...params, runId });
  assert.equal(res.runId, runId);
  return runId;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let server: Server;
before(async () => {
  server = await startServer();
});
after(() => {
  server?.conn.dispose();
  for (const c of started) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  rmSync(runsDir, { recursive: true, force: true });
});

test('listAllocators reports glibc and the installed jemalloc as available', async () => {
  const all = await server.conn.sendRequest(Lsp.listAllocators, {});
  const byId = new Map(all.map((a) => [a.id, a]));
  assert.equal(byId.get('glibc')?.available, true);
  assert.equal(byId.get('jemalloc')?.available, true, byId.get('jemalloc')?.unavailableReason ?? '');
  const custom = await server.conn.sendRequest(Lsp.listAllocators, { custom: [{ id: 'mine', library: '/nonexistent/libmine.so' }] });
  const mine = custom.find((a) => a.id === 'mine');
  assert.ok(mine, 'custom profile listed');
  assert.equal(mine.available, false);
});

test('listProcesses lists this test process with its command line, not the server', async () => {
  const procs = await server.conn.sendRequest(Lsp.listProcesses, {});
  const me = procs.find((p) => p.pid === process.pid);
  assert.ok(me, 'own pid listed');
  assert.match(me.command, /node/);
  assert.ok(me.rssBytes > 1024 * 1024);
  assert.ok(!procs.some((p) => p.pid === server.child.pid));
});

test('a watch run samples an existing process and saves a complete run', async () => {
  const sleeper = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore' });
  started.push(sleeper);
  const runId = await startRun(server, { target: { kind: 'watch', pid: sleeper.pid!, durationMs: 1000 }, runsDir, samplingIntervalMs: 50 });
  const done = await server.finished.get(runId)!;
  process.kill(-sleeper.pid!, 'SIGKILL');
  assert.equal(done.error, null);
  assert.ok(done.runDir && existsSync(path.join(done.runDir, 'run.json')));
  assert.equal(done.record?.kind, 'watch');
  assert.equal(done.record?.complete, true);
  assert.ok((server.samples.get(runId) ?? 0) >= 5, `samples notified: ${server.samples.get(runId)}`);
  const lines = readFileSync(path.join(done.runDir, done.record!.environments[0].dir, 'samples.ndjson'), 'utf8').trim().split('\n');
  assert.ok(JSON.parse(lines[0]).rssBytes > 0);
});

test('a compare run executes every environment and verifies the preload', async () => {
  const runId = await startRun(server, {
    target: { kind: 'compare', command: '/bin/sleep', args: ['30'], cwd: runsDir, durationMs: 800 },
    environments: ['glibc', 'jemalloc'], runsDir,
  });
  const done = await server.finished.get(runId)!;
  assert.equal(done.error, null, done.error?.message);
  assert.equal(done.record?.environments.length, 2);
  const [glibc, jemalloc] = done.record!.environments;
  assert.equal(glibc.env, 'glibc');
  assert.match(jemalloc.verification?.mappedAllocator ?? '', /jemalloc/);
  assert.ok(glibc.metrics && glibc.metrics.samples > 3);
  const spawns = (server.events.get(runId) ?? []).filter((e) => e.type === 'spawn');
  assert.equal(spawns.length, 2);
  for (const s of spawns) assert.equal(alive((s as { pid: number }).pid), false, 'target stopped after its environment');
});

test('untilSettled reaches the runner: a flat compare ends its phases settled, long before their bound', async () => {
  const runId = await startRun(server, {
    target: { kind: 'compare', command: '/bin/sleep', args: ['120'], cwd: runsDir, durationMs: 80_000 },
    environments: ['glibc'], runsDir, untilSettled: true,
  });
  const done = await server.finished.get(runId)!;
  assert.equal(done.error, null, done.error?.message);
  const ends = (server.events.get(runId) ?? []).filter((e): e is Extract<RunEvent, { type: 'phase-end' }> => e.type === 'phase-end');
  assert.deepEqual(ends.map((e) => e.reason), ['settled', 'settled']);
  assert.ok(ends[1].t < 60_000, `the phases ran ${ends[1].t} ms of their 80 s`);
});

test('cancelRun stops a long run and reports it cancelled', async () => {
  const runId = await startRun(server, {
    target: { kind: 'compare', command: '/bin/sleep', args: ['60'], cwd: runsDir, durationMs: 60_000 },
    environments: ['glibc'], runsDir,
  });
  await waitFor(() => (server.samples.get(runId) ?? 0) > 0, 10_000, 'first samples');
  assert.deepEqual(await server.conn.sendRequest(Lsp.activeRuns, {}), [runId]);
  const t0 = Date.now();
  assert.deepEqual(await server.conn.sendRequest(Lsp.cancelRun, { runId }), { cancelled: true });
  const done = await server.finished.get(runId)!;
  assert.ok(Date.now() - t0 < 8000, 'cancel took too long');
  assert.equal(done.cancelled, true);
  assert.equal(done.error, null);
  const spawn0 = (server.events.get(runId) ?? []).find((e) => e.type === 'spawn') as { pid: number } | undefined;
  assert.ok(spawn0);
  assert.equal(alive(spawn0.pid), false);
});

test('a bad scenario path ends the run with a user error', async () => {
  const runId = await startRun(server, { target: { kind: 'scenario', scenarioPath: path.join(runsDir, 'missing.alloclab.json') }, runsDir });
  const done = await server.finished.get(runId)!;
  assert.ok(done.error);
  assert.equal(done.error.userError, true);
  assert.match(done.error.message, /missing\.alloclab\.json/);
});

test('a scenario error carries its file, line and column to the client', async () => {
  const file = path.join(runsDir, 'bad.alloclab.json');
  writeFileSync(file, '{\n  "name": "bad",\n  "target": { "command": "/bin/true" },\n  "phases": [ { "name": "p", "kind": "sprint", "duration": "1s" } ]\n}\n');
  const runId = await startRun(server, { target: { kind: 'scenario', scenarioPath: file }, runsDir });
  const done = await server.finished.get(runId)!;
  assert.equal(done.error?.name, 'ScenarioError');
  assert.equal(done.error?.location?.file, file);
  assert.equal(done.error?.location?.line, 4);
  assert.ok((done.error?.location?.column ?? 0) > 1);
});

test('when the client goes away, the server exits and kills its targets', async () => {
  const s = await startServer();
  const runId = await startRun(s, {
    target: { kind: 'compare', command: '/bin/sleep', args: ['60'], cwd: runsDir, durationMs: 60_000 },
    environments: ['glibc'], runsDir,
  });
  await waitFor(() => (s.events.get(runId) ?? []).some((e) => e.type === 'spawn'), 10_000, 'spawn');
  const target = ((s.events.get(runId) ?? []).find((e) => e.type === 'spawn') as { pid: number }).pid;
  assert.equal(alive(target), true);
  const exited = new Promise((r) => s.child.once('exit', r));
  // The extension host dying closes the IPC channel: that is all the server sees.
  s.conn.dispose();
  s.child.disconnect();
  await exited;
  await waitFor(() => !alive(target), 3000, 'target killed');
});
