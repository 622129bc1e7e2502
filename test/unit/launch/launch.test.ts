// Launching real processes: executable checks, verbatim argv, readiness kinds, exits, crashes, outside kills,
// stopping whole process groups, ports already taken.
import { strict as assert } from 'node:assert';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { CancelledError, TargetError } from '../../../src/core/errors';
import { findFreePort, killAllTargets, launchTarget, liveTargetGroups, resolveExecutable, type TargetProcess } from '../../../src/core/launch';
import { nativeBuild, nativeProgram } from '../support/paths';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'alloclab-launch-'));
const started: TargetProcess[] = [];
after(async () => {
  killAllTargets();
  await Promise.all(started.map((t) => t.exited.catch(() => undefined)));
  rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
/** Launches a native test program with output files in a fresh folder; registered for cleanup. */
async function start(program: string, args: string[] = [], extra: { cwd?: string; command?: string } = {}): Promise<{ t: TargetProcess; dir: string }> {
  const dir = path.join(tmp, `run-${++n}`);
  mkdirSync(dir, { recursive: true });
  const t = await launchTarget({
    command: extra.command ?? nativeProgram(program),
    args,
    cwd: extra.cwd ?? dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    stdoutPath: path.join(dir, 'stdout.log'),
    stderrPath: path.join(dir, 'stderr.log'),
  });
  started.push(t);
  return { t, dir };
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function eventually(check: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

test('resolveExecutable: missing, directory, not executable, PATH search, relative path', () => {
  assert.throws(() => resolveExecutable(path.join(tmp, 'nope'), tmp), (e: Error) => e instanceof TargetError && /does not exist/.test(e.message));
  assert.throws(() => resolveExecutable(tmp, '/'), (e: Error) => e instanceof TargetError && /is a directory/.test(e.message));
  const plain = path.join(tmp, 'plain.txt');
  writeFileSync(plain, 'not a program\n');
  chmodSync(plain, 0o644);
  assert.throws(() => resolveExecutable(plain, '/'), (e: Error) => e instanceof TargetError && /not executable.*chmod \+x/.test(e.message));
  assert.equal(resolveExecutable('print-args', '/', `/nonexistent:${nativeBuild}`), path.join(nativeBuild, 'print-args'));
  assert.throws(() => resolveExecutable('no-such-program-xyz', '/', nativeBuild), (e: Error) => e instanceof TargetError && /not found on PATH/.test(e.message));
  assert.equal(resolveExecutable('./build/sleeper', path.dirname(nativeBuild)), nativeProgram('sleeper'));
});

test('launchTarget rejects a missing program and a missing cwd with TargetError', async () => {
  await assert.rejects(start('sleeper', [], { command: path.join(tmp, 'missing-program') }), (e: Error) => e instanceof TargetError && /does not exist/.test(e.message));
  await assert.rejects(start('sleeper', [], { cwd: path.join(tmp, 'no-such-dir') }), (e: Error) => e instanceof TargetError && /working directory/.test(e.message));
  // Executable bits but no program inside: execvp would quietly run it with /bin/sh.
  const fake = path.join(tmp, 'fake-program');
  writeFileSync(fake, 'just text, no #! line\n');
  chmodSync(fake, 0o755);
  await assert.rejects(start('sleeper', [], { command: fake }), (e: Error) => e instanceof TargetError && /neither a compiled program \(ELF\) nor a script/.test(e.message));
  const script = path.join(tmp, 'script.sh');
  writeFileSync(script, '#!/bin/sh\necho from-script\n');
  chmodSync(script, 0o755);
  const { t } = await start('sleeper', [], { command: script });
  assert.deepEqual(await t.exited, { code: 0, signal: null });
});

test('paths with spaces and quotes, arguments with $() and quotes arrive verbatim', async () => {
  const weird = path.join(tmp, `dir with 'single' "double" $(echo no) spaces`);
  mkdirSync(weird);
  const prog = path.join(weird, `print args $(touch x) 'q'`);
  copyFileSync(nativeProgram('print-args'), prog);
  chmodSync(prog, 0o755);
  const marker = path.join(tmp, 'pwned');
  const args = ['a b', `$(touch ${marker})`, "it's", '"dq"', `\`touch ${marker}\``, '*', '', '--x=$HOME', 'ü ñ', '; rm -rf /', '\\n'];
  const { t, dir } = await start('print-args', args, { command: prog, cwd: weird });
  const exit = await t.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  const fields = readFileSync(path.join(dir, 'stdout.log'), 'utf8').split('\0');
  assert.equal(fields.pop(), '');
  assert.deepEqual(fields, [weird, prog, ...args]);
  assert.equal(existsSync(marker), false, 'no shell ran the arguments');
});

test('output goes to the files and to line listeners', async () => {
  const { t, dir } = await start('crash-segv', ['50']);
  const lines: string[] = [];
  t.onLine((stream, line) => lines.push(`${stream}:${line}`));
  const exit = await t.exited;
  assert.equal(exit.signal, 'SIGSEGV');
  assert.equal(readFileSync(path.join(dir, 'stdout.log'), 'utf8'), 'started\n');
  assert.equal(readFileSync(path.join(dir, 'stderr.log'), 'utf8'), 'crash-segv: about to crash\n');
  assert.ok(lines.includes('stderr:crash-segv: about to crash'), lines.join('|'));
});

test('ready by TCP port, then stop with SIGTERM', async () => {
  const port = await findFreePort();
  const { t } = await start('tiny-http', [String(port), '200']);
  const how = await t.waitReady({ tcpPort: port, timeoutMs: 5000 });
  assert.match(how, new RegExp(`^tcp 127\\.0\\.0\\.1:${port} after \\d+ms$`));
  assert.equal(t.running, true);
  const exit = await t.stop(2000);
  assert.deepEqual(exit, { code: null, signal: 'SIGTERM' });
  assert.equal(t.running, false);
  assert.equal(liveTargetGroups().includes(t.pid), false);
});

test('ready by HTTP: a 200 counts, a 500 does not (times out naming the status)', async () => {
  const port = await findFreePort();
  const { t } = await start('tiny-http', [String(port), '100', '200']);
  assert.match(await t.waitReady({ httpUrl: `http://127.0.0.1:${port}/health`, timeoutMs: 5000 }), /^http 200 after \d+ms$/);
  const port2 = await findFreePort();
  const { t: t2 } = await start('tiny-http', [String(port2), '0', '500']);
  await assert.rejects(t2.waitReady({ httpUrl: `http://127.0.0.1:${port2}/`, timeoutMs: 600 }), (e: Error) => e instanceof TargetError && /not ready after 600ms/.test(e.message) && /last answer: 500/.test(e.message));
  await assert.rejects(t2.waitReady({ httpUrl: 'http://example.com/', timeoutMs: 600 }), (e: Error) => e instanceof TargetError && /127\.0\.0\.1/.test(e.message));
  await Promise.all([t.stop(), t2.stop()]);
});

test('ready by log line (regular expression), also when the line came before waitReady', async () => {
  const { t } = await start('sleeper', ['--print-every', '50']);
  assert.match(await t.waitReady({ logLine: '^tick [3-9]$', timeoutMs: 5000 }), /^log line "tick 3" after \d+ms$/);
  // "ready pid N" was printed first, long before this call.
  assert.match(await t.waitReady({ logLine: '^ready pid \\d+$', timeoutMs: 1000 }), /^log line "ready pid \d+"/);
  await assert.rejects(t.waitReady({ logLine: '([', timeoutMs: 1000 }), (e: Error) => e instanceof TargetError && /regular expression/.test(e.message));
  await t.stop();
});

test('ready after a delay; timeout when nothing listens', async () => {
  const { t } = await start('sleeper');
  const t0 = performance.now();
  assert.equal(await t.waitReady({ delayMs: 200, timeoutMs: 5000 }), 'delay 200ms');
  assert.ok(performance.now() - t0 >= 190);
  const port = await findFreePort();
  await assert.rejects(t.waitReady({ tcpPort: port, timeoutMs: 300 }), (e: Error) => e instanceof TargetError && new RegExp(`not ready after 300ms.*TCP port ${port}`).test(e.message));
  assert.equal(t.running, true, 'a timeout does not stop the target');
  await t.stop();
});

test('a target that exits at once: waitReady names the exit code and the last stderr lines', async () => {
  const { t } = await start('exit-early');
  await assert.rejects(t.waitReady({ logLine: 'never printed', timeoutMs: 5000 }), (e: Error) =>
    e instanceof TargetError && /exited with code 3 before it was ready/.test(e.message) && /config file missing/.test(e.message) && /giving up/.test(e.message));
  assert.deepEqual(await t.exited, { code: 3, signal: null });
  // Asking again after the exit gives the same answer at once.
  await assert.rejects(t.waitReady({ delayMs: 10, timeoutMs: 5000 }), /exited with code 3/);
});

test('a target that crashes with SIGSEGV while we wait', async () => {
  const { t } = await start('crash-segv', ['150']);
  await assert.rejects(t.waitReady({ tcpPort: await findFreePort(), timeoutMs: 5000 }), (e: Error) =>
    e instanceof TargetError && /was killed by SIGSEGV before it was ready/.test(e.message) && /about to crash/.test(e.message));
  assert.deepEqual(await t.exited, { code: null, signal: 'SIGSEGV' });
});

test('a target SIGKILLed from outside (as by the OOM killer) resolves exited with SIGKILL', async () => {
  const { t } = await start('sleeper');
  await t.waitReady({ logLine: '^ready', timeoutMs: 5000 });
  process.kill(t.pid, 'SIGKILL');
  assert.deepEqual(await t.exited, { code: null, signal: 'SIGKILL' });
  assert.equal(t.running, false);
  assert.equal(t.stopRequested, false);
  // stop() after an exit just reports it.
  assert.deepEqual(await t.stop(), { code: null, signal: 'SIGKILL' });
});

async function treePids(t: TargetProcess): Promise<number[]> {
  const pids: number[] = [];
  t.onLine((_s, line) => {
    const m = /^(?:child|grandchild) (\d+)$/.exec(line);
    if (m) pids.push(Number(m[1]));
  });
  await t.waitReady({ logLine: '^ready$', timeoutMs: 5000 });
  return pids;
}

test('stop kills the whole process group, grandchild included', async () => {
  // Lines reach listeners before the log file is written, so take the pids from the lines.
  const { t } = await start('spawn-tree');
  const pids = await treePids(t);
  assert.equal(pids.length, 2, String(pids));
  assert.ok(pids.every(alive));
  const exit = await t.stop(2000);
  assert.equal(exit.signal, 'SIGTERM');
  assert.ok(await eventually(() => !pids.some(alive)), `still alive: ${pids.filter(alive)}`);
});

test('when the leader exits on its own, the descendants it left are killed too', async () => {
  const { t, dir } = await start('spawn-tree', ['--leader-exits', '100']);
  const exit = await t.exited;
  assert.deepEqual(exit, { code: 0, signal: null });
  const pids = [...readFileSync(path.join(dir, 'stdout.log'), 'utf8').matchAll(/^(?:child|grandchild) (\d+)$/gm)].map((m) => Number(m[1]));
  assert.equal(pids.length, 2);
  assert.ok(await eventually(() => !pids.some(alive)), `still alive: ${pids.filter(alive)}`);
});

test('stop escalates to SIGKILL when SIGTERM is ignored, and is idempotent', async () => {
  const { t } = await start('sleeper', ['--ignore-term']);
  await t.waitReady({ logLine: '^ready', timeoutMs: 5000 });
  const a = t.stop(300);
  const b = t.stop(300);
  assert.equal(a, b);
  assert.deepEqual(await a, { code: null, signal: 'SIGKILL' });
  assert.equal(t.stopRequested, true);
});

test('a port already taken by another process is reported, not mistaken for readiness', async () => {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const { t } = await start('sleeper');
    await assert.rejects(t.waitReady({ tcpPort: port, timeoutMs: 5000 }), (e: Error) =>
      e instanceof TargetError && new RegExp(`Port ${port} is already in use by another process \\(pid ${process.pid}`).test(e.message));
    await t.stop();
    // A server that cannot bind exits; the error carries its own explanation.
    const { t: http } = await start('tiny-http', [String(port)]);
    await assert.rejects(http.waitReady({ logLine: '^listening', timeoutMs: 5000 }), (e: Error) =>
      /exited with code 4/.test(e.message) && /Address already in use/.test(e.message));
  } finally {
    server.close();
  }
});

test('an abort signal cancels waitReady with CancelledError; killAllTargets kills what is left', async () => {
  const { t } = await start('sleeper');
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  await assert.rejects(t.waitReady({ tcpPort: await findFreePort(), timeoutMs: 5000 }, ac.signal), (e: Error) => e instanceof CancelledError);
  assert.equal(t.running, true);
  assert.ok(liveTargetGroups().includes(t.pid));
  killAllTargets();
  assert.deepEqual(await t.exited, { code: null, signal: 'SIGKILL' });
});

test('heavy output: every line reaches both the file and the listeners, split correctly across chunks', async () => {
  const { t, dir } = await start('yes', ['line of output'], { command: 'yes' });
  let lines = 0;
  let bad = 0;
  t.onLine((_s, line) => {
    lines++;
    if (line !== 'line of output') bad++;
  });
  await new Promise((r) => setTimeout(r, 200));
  await t.stop();
  const text = readFileSync(path.join(dir, 'stdout.log'), 'utf8');
  const fileLines = text.split('\n');
  const partial = fileLines.pop();
  assert.ok(fileLines.length > 1000, `only ${fileLines.length} lines`);
  assert.equal(bad, partial ? 1 : 0, 'only a last unterminated line may differ');
  assert.equal(lines, fileLines.length + (partial ? 1 : 0));
});
