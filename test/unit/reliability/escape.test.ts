// Nothing outlives its run: the CLI killed (SIGKILL), terminated (SIGTERM) or hung up on (SIGHUP) during
// `run`, `compare` and `profile`, with a target that forks, one whose child calls setsid (a daemon re-parented
// to init, outside the process group), and a load driver that ignores SIGINT, SIGTERM and SIGHUP. Also a second
// Ctrl-C against that driver, and the language server killed during a run. Every process of the run carries a
// marker variable the test sets (independent of the engine's own run id), so the check below sees all of them.
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { createMessageConnection, IPCMessageReader, IPCMessageWriter } from 'vscode-jsonrpc/node';
import { listBackends } from '../../../src/core/profilers';
import { listPids, readEnviron, readProcLink } from '../../../src/core/os/proc';
import { Lsp, type StartRunParams } from '../../../src/protocol/lsp';
import { nativeProgram, repoRoot } from '../support/paths';

const MARK = 'ALLOCLAB_ESCAPE_TEST';
const cli = path.join(repoRoot, 'bin', 'alloclab');
const serverJs = path.join(repoRoot, 'dist', 'server.js');
const work = mkdtempSync(path.join(tmpdir(), 'alloclab-escape-'));
const AFTER_EXIT_MS = 5000;
const started: ChildProcess[] = [];

after(() => {
  // Whatever a failed case left is killed here, so one failure does not leak into the machine.
  for (const pid of listPids()) {
    const mark = readEnviron(pid)?.get(MARK);
    if (mark !== undefined) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
  for (const c of started) try { c.kill('SIGKILL'); } catch { /* gone */ }
  rmSync(work, { recursive: true, force: true });
});

/** Pids (other than `except`) whose environment carries the marker `mark`. */
function marked(mark: string, except: number[] = []): number[] {
  return listPids().filter((pid) => !except.includes(pid) && readEnviron(pid)?.get(MARK) === mark);
}

/** The marked processes that run the escaper program (the target's and the driver's trees, not the CLI). */
function escapers(mark: string): number[] {
  return marked(mark).filter((pid) => {
    try {
      return readProcLink(pid, 'exe') === escaper();
    } catch {
      return false;
    }
  });
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function describe(pids: number[]): string {
  return pids.map((p) => `${p} ${listPids().includes(p) ? (readEnviron(p) ? '' : '(unreadable)') : '(gone)'}`).join(', ');
}

const escaper = () => nativeProgram('escaper');

function scenarioFile(name: string): string {
  const file = path.join(work, `${name}.alloclab.json`);
  writeFileSync(file, JSON.stringify({
    name,
    target: { command: escaper(), args: ['fork', 'setsid'], ready: { logLine: '^ready$', timeout: '20s' } },
    environments: ['glibc'],
    phases: [{
      name: 'load', kind: 'load', duration: '60s',
      // A driver that ignores every polite signal, and has a child of its own.
      load: { driver: 'command', command: escaper(), args: ['ignore', 'fork'] },
    }],
  }));
  return file;
}

interface Case {
  command: 'run' | 'compare' | 'profile';
  args: (out: string) => string[];
  /** Escaper processes once everything is up: the target, its child, the daemon (+ the driver and its child). */
  expected: number;
}

const cases: Case[] = [
  { command: 'run', args: (out) => ['run', scenarioFile(`run-${randomUUID().slice(0, 8)}`), '--out', out], expected: 5 },
  { command: 'compare', args: (out) => ['compare', '--env', 'glibc', '--duration', '60s', '--out', out, '--', escaper(), 'fork', 'setsid'], expected: 3 },
];
const jemallocProf = listBackends().find((b) => b.id === 'jemalloc-prof');
const profileSkip = jemallocProf?.available().ok ? null : `jemalloc-prof unavailable: ${jemallocProf?.available().reason ?? 'not registered'}`;
cases.push({ command: 'profile', args: (out) => ['profile', '--backend', 'jemalloc-prof', '--duration', '60s', '--out', out, '--', escaper(), 'fork', 'setsid'], expected: 3 });

function startCli(args: string[], mark: string): ChildProcess {
  const child = spawn(process.execPath, [cli, ...args], { cwd: work, env: { ...process.env, [MARK]: mark }, stdio: ['ignore', 'ignore', 'pipe'] });
  started.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => stderr;
  return child;
}

/** Starts the CLI, waits until the whole tree is up, sends `signals` (spaced a little), and checks that nothing is left 5 s after the CLI exited. */
async function killDuring(c: Case, signals: NodeJS.Signals[]): Promise<void> {
  const mark = randomUUID();
  const out = path.join(work, `${c.command}-${mark.slice(0, 8)}`);
  const child = startCli(c.args(out), mark);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const up = await waitFor(() => escapers(mark).length >= c.expected, 30_000);
  assert.ok(up, `${c.command}: only ${escapers(mark).length} of ${c.expected} processes started; stderr:\n${(child as ChildProcess & { stderrText: () => string }).stderrText()}`);
  for (const [i, sig] of signals.entries()) {
    if (i > 0) await new Promise((r) => setTimeout(r, 300));
    child.kill(sig);
  }
  await exited;
  const clean = await waitFor(() => marked(mark).length === 0, AFTER_EXIT_MS);
  assert.ok(clean, `${c.command} after ${signals.join('+')}: left behind ${describe(marked(mark))}`);
}

for (const c of cases) {
  for (const sig of ['SIGKILL', 'SIGTERM', 'SIGHUP'] as const) {
    test(`${sig} of \`alloclab ${c.command}\`: no process of the run is left`, { skip: c.command === 'profile' ? profileSkip ?? false : false }, () => killDuring(c, [sig]));
  }
}

test('SIGKILL of `alloclab run` during the target\'s build (a build that forks and daemonizes): nothing is left', async () => {
  const file = path.join(work, 'build.alloclab.json');
  writeFileSync(file, JSON.stringify({
    name: 'build', target: { command: escaper(), build: { command: escaper(), args: ['fork', 'setsid'] } },
    environments: ['glibc'], phases: [{ name: 'idle', kind: 'idle', duration: '1s' }],
  }));
  await killDuring({ command: 'run', args: (out) => ['run', file, '--out', out], expected: 3 }, ['SIGKILL']);
});

test('a second Ctrl-C while the load driver ignores SIGINT and SIGTERM still kills it', () => killDuring(cases[0], ['SIGINT', 'SIGINT']));

/**
 * The language server, spoken to over IPC either directly or through a relay process that plays the extension
 * host (it forks the server and passes messages both ways, as the extension host's client does).
 */
async function serverDuringRun(viaRelay: boolean): Promise<{ mark: string; victim: ChildProcess; dispose: () => void }> {
  const mark = randomUUID();
  const env = { ...process.env, [MARK]: mark };
  const relay = `const s = require('child_process').fork(${JSON.stringify(serverJs)}, ['--node-ipc'], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    s.on('message', (m) => process.send(m)); process.on('message', (m) => s.send(m));`;
  const child = viaRelay
    ? spawn(process.execPath, ['-e', relay], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env })
    : fork(serverJs, ['--node-ipc'], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'], env });
  started.push(child);
  const conn = createMessageConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  conn.listen();
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await conn.sendNotification('initialized', {});
  const params: StartRunParams = { runId: `r${mark.slice(0, 8)}`, target: { kind: 'scenario', scenarioPath: scenarioFile(`server-${mark.slice(0, 8)}`) }, runsDir: work };
  await conn.sendRequest(Lsp.startRun, params);
  // The target, its child, the daemon, the driver and its child.
  assert.ok(await waitFor(() => escapers(mark).length >= 5, 30_000), `only ${escapers(mark).length} processes started`);
  return { mark, victim: child, dispose: () => conn.dispose() };
}

async function killAndCheck(s: { mark: string; victim: ChildProcess; dispose: () => void }): Promise<void> {
  const exited = new Promise<void>((r) => s.victim.once('exit', () => r()));
  s.victim.kill('SIGKILL');
  await exited;
  s.dispose();
  assert.ok(await waitFor(() => marked(s.mark).length === 0, AFTER_EXIT_MS), `left behind ${describe(marked(s.mark))}`);
}

test('the language server SIGKILLed during a run leaves nothing behind', async () => killAndCheck(await serverDuringRun(false)));

test('the extension host SIGKILLed during a run (the server loses its IPC channel) leaves nothing behind', async () => killAndCheck(await serverDuringRun(true)));
