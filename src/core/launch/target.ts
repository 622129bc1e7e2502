// A target is an object: spawned in its own process group (no shell), output streamed to files and to line
// listeners, an `exited` promise, readiness checks, and a stop that always takes the whole group down.
import { createWriteStream, mkdirSync, statSync, type WriteStream } from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { CancelledError, TargetError } from '../errors';
import { formatDuration } from '../units';
import { registerGroup, signalGroup, unregisterGroup } from '../os/groups';
import { canConnect, pinUrl, pinnedLookup, portOwner, type PinnedUrl } from '../os/net';
import { resolveExecutable } from './resolve';

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdoutPath: string;
  stderrPath: string;
}

export interface ResolvedReady {
  tcpPort?: number;
  httpUrl?: string;
  /** A regular expression matched against each stdout and stderr line. */
  logLine?: string;
  delayMs?: number;
  timeoutMs: number;
}

export interface ExitStatus {
  code: number | null;
  signal: string | null;
}

export type LineListener = (stream: 'stdout' | 'stderr', line: string) => void;

export interface TargetProcess {
  readonly pid: number;
  /** process.hrtime.bigint() at spawn: the environment's time zero. */
  readonly startNs: bigint;
  /** Resolves after the exit once the output files are complete (lines reach onLine listeners earlier). */
  readonly exited: Promise<ExitStatus>;
  readonly running: boolean;
  /** True once stop() was called (the exit that follows is expected). */
  readonly stopRequested: boolean;
  onLine(cb: LineListener): void;
  /** Resolves with how it became ready ("http 200 after 312ms"); rejects TargetError when it exits first (with code/signal and last stderr lines) or times out, CancelledError when the signal aborts. */
  waitReady(ready: ResolvedReady, signal?: AbortSignal): Promise<string>;
  /** SIGTERM to the process group, SIGKILL after graceMs; resolves with the exit. Idempotent. */
  /** `terminate` replaces the SIGTERM to the group (a profiler wrapper that must outlive the target); SIGKILL to the group still follows the grace period. */
  stop(graceMs?: number, terminate?: () => void): Promise<ExitStatus>;
}

/** One readiness condition; `run` reports through done/fail and polls `stopped` to end early. */
interface ReadyCheck {
  what: string;
  run: (done: (how: string) => void, fail: (e: Error) => void, stopped: () => boolean) => void;
  /** Extra words for the timeout message (e.g. the last HTTP status seen). */
  detail?: () => string;
}

const STDERR_TAIL_LINES = 20;
const RECENT_LINES = 500;
// A line longer than this without a newline is delivered in pieces rather than buffered without bound.
const MAX_LINE = 64 * 1024;
// After the leader exits, wait this long for pipes held by escaped descendants before giving up on them.
const PIPE_DRAIN_MS = 2000;
const POLL_MS = 50;

/** Spawns the target in its own process group (no shell); stdout/stderr go to the spec's files. */
export async function launchTarget(spec: LaunchSpec): Promise<TargetProcess> {
  let cwdOk = false;
  try {
    cwdOk = statSync(spec.cwd).isDirectory();
  } catch {
    // reported below
  }
  if (!cwdOk) throw new TargetError(`The target's working directory ${spec.cwd} does not exist or is not a directory. Create it or fix target.cwd.`, 2);
  const file = resolveExecutable(spec.command, spec.cwd, spec.env.PATH);
  const stdoutFile = await openLog(spec.stdoutPath);
  const stderrFile = spec.stderrPath === spec.stdoutPath ? stdoutFile : await openLog(spec.stderrPath);
  const target = new Target(file, spec, stdoutFile, stderrFile);
  // A spawn that failed after our checks (ENOEXEC, a race) rejects here, so no half-started target escapes.
  if (target.pid < 0) await target.exited;
  return target;
}

async function openLog(file: string): Promise<WriteStream> {
  mkdirSync(path.dirname(file), { recursive: true });
  const stream = createWriteStream(file, { flags: 'w' });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(new TargetError(`Cannot write the target's output to ${file}: ${e.message}. Check the folder's permissions and free space.`)));
  });
  return stream;
}

class Target implements TargetProcess {
  readonly pid: number;
  readonly startNs: bigint;
  readonly exited: Promise<ExitStatus>;
  private exitStatus: ExitStatus | null = null;
  private stopping: Promise<ExitStatus> | null = null;
  private readonly listeners = new Set<LineListener>();
  private readonly stderrTail: string[] = [];
  private readonly recent: { stream: 'stdout' | 'stderr'; line: string }[] = [];
  private readonly name: string;

  constructor(
    private readonly file: string,
    private readonly spec: LaunchSpec,
    stdoutFile: WriteStream,
    stderrFile: WriteStream,
  ) {
    this.name = path.basename(file);
    this.startNs = process.hrtime.bigint();
    const child = execa(file, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      extendEnv: false,
      detached: true,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      cleanup: false,
      stripFinalNewline: false,
    });
    // execa's own promise settles when the pipes close; `exited` below is what we expose.
    void Promise.resolve(child).catch(() => undefined);
    if (child.pid === undefined) {
      stdoutFile.end();
      if (stderrFile !== stdoutFile) stderrFile.end();
      // Spawn failed after our checks (a race, or ENOEXEC on a file that is not a program).
      this.pid = -1;
      this.exitStatus = { code: null, signal: null };
      this.exited = Promise.resolve(child).then((r) => {
        const why = 'shortMessage' in r ? String(r.shortMessage) : `exit ${r.exitCode}`;
        throw new TargetError(`Could not start ${file}: ${why}. Check that it is a program for this machine.`);
      });
      return;
    }
    this.pid = child.pid;
    registerGroup(this.pid);
    const drained = [this.pipe(child.stdout, 'stdout', stdoutFile), this.pipe(child.stderr, 'stderr', stderrFile)];
    this.exited = new Promise<ExitStatus>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        // Descendants the target left behind would outlive the run; the group dies with its leader.
        signalGroup(this.pid, 'SIGKILL');
        unregisterGroup(this.pid);
        const timer = setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, PIPE_DRAIN_MS);
        void Promise.all(drained).then(async () => {
          clearTimeout(timer);
          await Promise.all([endFile(stdoutFile), stderrFile === stdoutFile ? undefined : endFile(stderrFile)]);
          resolve({ code, signal });
        });
      });
    });
  }

  get running(): boolean {
    return this.exitStatus === null;
  }

  get stopRequested(): boolean {
    return this.stopping !== null;
  }

  onLine(cb: LineListener): void {
    this.listeners.add(cb);
  }

  private pipe(stream: Readable | null, name: 'stdout' | 'stderr', file: WriteStream): Promise<void> {
    if (!stream) return Promise.resolve();
    const decoder = new StringDecoder('utf8');
    let partial = '';
    const flush = (text: string) => {
      partial += text;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0 || partial.length > MAX_LINE) {
        const cut = nl >= 0 ? nl : MAX_LINE;
        this.line(name, partial.slice(0, cut).replace(/\r$/, ''));
        partial = partial.slice(nl >= 0 ? cut + 1 : cut);
      }
    };
    // A log file that fails (disk full) must not stall the target on a paused pipe: keep reading, stop writing.
    let fileBroken = false;
    file.on('error', () => {
      fileBroken = true;
      stream.resume();
    });
    return new Promise<void>((resolve) => {
      stream.on('data', (chunk: Buffer) => {
        // When the disk is slower than the target, stop reading: the pipe then slows the target, not our memory.
        if (!fileBroken && !file.write(chunk)) {
          stream.pause();
          file.once('drain', () => stream.resume());
        }
        flush(decoder.write(chunk));
      });
      stream.once('close', () => {
        flush(decoder.end());
        if (partial) this.line(name, partial);
        partial = '';
        resolve();
      });
      stream.once('error', () => undefined);
    });
  }

  private line(stream: 'stdout' | 'stderr', line: string): void {
    if (stream === 'stderr') {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    }
    this.recent.push({ stream, line });
    if (this.recent.length > RECENT_LINES) this.recent.shift();
    for (const cb of [...this.listeners]) cb(stream, line);
  }

  /** The error for "exited before ready", naming the exit and the last stderr lines. */
  private exitedError(x: ExitStatus, waitingFor: string): TargetError {
    const how = x.signal ? `was killed by ${x.signal}` : `exited with code ${x.code}`;
    const tail = this.stderrTail.length ? `\nLast stderr lines:\n  ${this.stderrTail.slice(-10).join('\n  ')}` : ' It printed nothing on stderr.';
    return new TargetError(`${this.name} ${how} before it was ready (waiting for ${waitingFor}; full output in ${this.spec.stderrPath}).${tail}`);
  }

  waitReady(ready: ResolvedReady, signal?: AbortSignal): Promise<string> {
    const t0 = performance.now();
    const elapsed = () => formatDuration(performance.now() - t0);
    const checks: ReadyCheck[] = [];

    if (ready.tcpPort !== undefined) {
      const port = ready.tcpPort;
      checks.push({
        what: `TCP port ${port} on 127.0.0.1`,
        run: (done, fail, stopped) => {
          const attempt = async () => {
            while (!stopped()) {
              if (await canConnect(port)) {
                const owner = portOwner(port, this.pid, this.pid);
                if (typeof owner === 'object') return fail(portTakenError(port, owner));
                return done(`tcp 127.0.0.1:${port} after ${elapsed()}`);
              }
              await delay(POLL_MS);
            }
          };
          void attempt();
        },
      });
    }
    if (ready.httpUrl !== undefined) {
      let url: URL;
      try {
        url = new URL(ready.httpUrl);
      } catch {
        return Promise.reject(new TargetError(`ready.httpUrl "${ready.httpUrl}" is not a URL; write e.g. http://127.0.0.1:8080/health.`, 2));
      }
      if (url.protocol !== 'http:') {
        return Promise.reject(new TargetError(`ready.httpUrl ${ready.httpUrl} must be a plain http:// URL on 127.0.0.1, ::1 or localhost: Allocator Lab only talks to local targets.`, 2));
      }
      // The same rule as for load: resolved once, checked to be loopback, and that address is the one polled.
      const pinned = pinUrl(ready.httpUrl, false).catch((e: Error) => e);
      const port = Number(url.port || 80);
      let lastStatus = '';
      checks.push({
        what: `HTTP ${ready.httpUrl}`,
        run: (done, fail, stopped) => {
          const attempt = async () => {
            const pin = await pinned;
            if (pin instanceof Error) return fail(new TargetError(`ready.httpUrl ${ready.httpUrl} must be a plain http:// URL on 127.0.0.1, ::1 or localhost. ${pin.message}`, 2));
            while (!stopped()) {
              const status = await httpStatus(pin);
              if (status !== null && status < 500) {
                const owner = portOwner(port, this.pid, this.pid);
                if (typeof owner === 'object') return fail(portTakenError(port, owner));
                return done(`http ${status} after ${elapsed()}`);
              }
              if (status !== null) lastStatus = ` (last answer: ${status})`;
              await delay(POLL_MS);
            }
          };
          void attempt();
        },
        detail: () => lastStatus,
      });
    }
    if (ready.logLine !== undefined) {
      let re: RegExp;
      try {
        re = new RegExp(ready.logLine);
      } catch (e) {
        return Promise.reject(new TargetError(`ready.logLine is not a valid regular expression: ${(e as Error).message}.`, 2));
      }
      checks.push({
        what: `a line matching /${ready.logLine}/`,
        run: (done, _fail, stopped) => {
          const seen = this.recent.find((r) => re.test(r.line));
          if (seen) return done(`log line "${clip(seen.line)}" after ${elapsed()}`);
          const listener: LineListener = (_stream, line) => {
            if (stopped()) {
              this.listeners.delete(listener);
            } else if (re.test(line)) {
              this.listeners.delete(listener);
              done(`log line "${clip(line)}" after ${elapsed()}`);
            }
          };
          this.listeners.add(listener);
        },
      });
    }
    if (ready.delayMs !== undefined) {
      const ms = ready.delayMs;
      checks.push({
        what: `a delay of ${formatDuration(ms)}`,
        run: (done, _fail, stopped) => {
          void delay(ms).then(() => !stopped() && done(`delay ${formatDuration(ms)}`));
        },
      });
    }

    return new Promise<string>((resolve, reject) => {
      const pending = new Set(checks.map((c) => c.what));
      const hows: string[] = [];
      let settled = false;
      const cleanups: (() => void)[] = [];
      const settle = (e: Error | null) => {
        if (settled) return;
        settled = true;
        for (const c of cleanups) c();
        if (e) reject(e);
        else resolve(hows.join(', ') || 'no readiness check');
      };
      const waitingFor = () => [...pending].join(' and ') || 'nothing';
      const onExit = () => settle(this.exitedError(this.exitStatus ?? { code: null, signal: null }, waitingFor()));

      if (signal?.aborted) return settle(this.exitStatus ? this.exitedError(this.exitStatus, waitingFor()) : new CancelledError());
      if (!this.running) return onExit();
      if (checks.length === 0) return settle(null);

      void this.exited.then(onExit, onExit);
      if (signal) {
        // When the abort comes from the target's own exit, the exit is the better explanation.
        const onAbort = () => settle(this.exitStatus ? this.exitedError(this.exitStatus, waitingFor()) : new CancelledError());
        signal.addEventListener('abort', onAbort, { once: true });
        cleanups.push(() => signal.removeEventListener('abort', onAbort));
      }
      const timer = setTimeout(() => {
        const detail = checks.map((c) => c.detail?.() ?? '').join('');
        const tail = this.stderrTail.length ? `\nLast stderr lines:\n  ${this.stderrTail.slice(-10).join('\n  ')}` : '';
        settle(new TargetError(`${this.name} was not ready after ${formatDuration(ready.timeoutMs)}: still waiting for ${waitingFor()}${detail}. Check the readiness setting (port, URL, log line) or raise ready.timeout.${tail}`));
      }, ready.timeoutMs);
      cleanups.push(() => clearTimeout(timer));

      const stopped = () => settled;
      for (const c of checks) {
        c.run(
          (how) => {
            if (settled || !pending.has(c.what)) return;
            pending.delete(c.what);
            hows.push(how);
            if (pending.size === 0) settle(null);
          },
          (e) => settle(e),
          stopped,
        );
      }
    });
  }

  stop(graceMs = 5000, terminate?: () => void): Promise<ExitStatus> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (this.pid < 0) return this.exitStatus ?? { code: null, signal: null };
      if (this.running) {
        if (terminate) terminate();
        else signalGroup(this.pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const graceOver = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), graceMs)));
        const first = await Promise.race([this.exited, graceOver]);
        clearTimeout(timer);
        if (first === 'timeout') signalGroup(this.pid, 'SIGKILL');
      }
      return this.exited;
    })();
    return this.stopping;
  }
}

function endFile(file: WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (file.closed) return resolve();
    file.end(() => resolve());
    file.once('error', () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function clip(line: string): string {
  return line.length > 80 ? `${line.slice(0, 77)}...` : line;
}

function portTakenError(port: number, owner: { pid: number; comm: string }): TargetError {
  return new TargetError(
    `Port ${port} is already in use by another process (pid ${owner.pid}, ${owner.comm}), not by the target, so readiness cannot be checked there. Stop that process or use another port (\${port} picks a free one).`,
  );
}

/** The status of one GET (connection closed afterwards), or null when there was no answer. */
function httpStatus(pin: PinnedUrl): Promise<number | null> {
  return new Promise((resolve) => {
    const options = { agent: false, headers: { connection: 'close' }, timeout: 1000, lookup: pinnedLookup(pin.address, pin.family) as never };
    const req = http.get(pin.url, options, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? null));
      res.once('error', () => resolve(res.statusCode ?? null));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(null));
  });
}
