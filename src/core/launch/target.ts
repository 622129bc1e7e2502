// A target is an object: spawned in its own process group (no shell), output streamed to files and to line
// listeners, an `exited` promise, readiness (launch/readiness.ts), and a stop that always takes the whole group down.
import { createWriteStream, mkdirSync, statSync, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { execa } from 'execa';
import { printableOutput, TargetError } from '../errors';
import { waitReady, type ReadinessSubject, type ResolvedReady } from './readiness';
import { guardLaunch, registerGroup, signalGroup, unregisterGroup } from '../os/groups';
import { resolveExecutable } from './resolve';

export type { ResolvedReady } from './readiness';

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  stdoutPath: string;
  stderrPath: string;
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

const STDERR_TAIL_LINES = 20;
const RECENT_LINES = 500;
// A line longer than this without a newline is delivered in pieces rather than buffered without bound.
const MAX_LINE = 64 * 1024;
// After the leader exits, wait this long for pipes held by escaped descendants before giving up on them.
const PIPE_DRAIN_MS = 2000;

/** Spawns the target in its own process group (no shell); stdout/stderr go to the spec's files. */
export async function launchTarget(spec: LaunchSpec): Promise<TargetProcess> {
  let cwdOk = false;
  try {
    cwdOk = statSync(spec.cwd).isDirectory();
  } catch {
    // reported below
  }
  if (!cwdOk) throw new TargetError(`The target's working directory ${spec.cwd} does not exist or is not a directory. Create it or fix target.cwd.`, 'input');
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
    // Tagged and started through the exec helper: it dies with us even if we are SIGKILLed (os/groups.ts).
    const guarded = guardLaunch(file, spec.args, spec.env);
    const child = execa(guarded.file, guarded.args, {
      cwd: spec.cwd,
      env: guarded.env,
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
    registerGroup(this.pid, guarded.tag);
    const drained = [this.pipe(child.stdout, 'stdout', stdoutFile), this.pipe(child.stderr, 'stderr', stderrFile)];
    this.exited = new Promise<ExitStatus>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitStatus = { code, signal };
        // Descendants the target left behind would outlive the run: the group, and what left it, die with the leader.
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
      // The tail goes into error messages shown on the user's terminal: no escape sequences from the target.
      this.stderrTail.push(printableOutput(line));
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    }
    this.recent.push({ stream, line });
    if (this.recent.length > RECENT_LINES) this.recent.shift();
    for (const cb of [...this.listeners]) cb(stream, line);
  }

  waitReady(ready: ResolvedReady, signal?: AbortSignal): Promise<string> {
    return waitReady(this.readiness, ready, signal);
  }

  /** What the readiness checks see of this target. */
  private get readiness(): ReadinessSubject {
    return {
      pid: this.pid,
      name: this.name,
      stderrPath: this.spec.stderrPath,
      exited: this.exited,
      exitStatus: () => this.exitStatus,
      recentLines: () => this.recent,
      stderrTail: () => this.stderrTail,
      onLine: (cb) => {
        this.listeners.add(cb);
        return () => this.listeners.delete(cb);
      },
    };
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

