// Readiness of a launched target: a TCP port that accepts, an HTTP URL that answers, a log line, a delay. Every
// condition given must hold; the target exiting first, a timeout or a cancel ends the wait with a typed error.
import * as http from 'node:http';
import { CancelledError, TargetError, printableOutput } from '../errors';
import { canConnect, pinUrl, pinnedLookup, portOwner, type PinnedUrl } from '../os/net';
import { formatDuration } from '../units';

export interface ResolvedReady {
  tcpPort?: number;
  httpUrl?: string;
  /** A regular expression matched against each stdout and stderr line. */
  logLine?: string;
  delayMs?: number;
  timeoutMs: number;
}

/** How a process ended (the shape of launch/target.ts's ExitStatus). */
interface ExitStatus {
  code: number | null;
  signal: string | null;
}

type LineListener = (stream: 'stdout' | 'stderr', line: string) => void;

/** What the checks need to see of a running target. */
export interface ReadinessSubject {
  readonly pid: number;
  /** The program's base name, for messages. */
  readonly name: string;
  readonly stderrPath: string;
  readonly exited: Promise<unknown>;
  exitStatus(): ExitStatus | null;
  /** The last lines the target printed (a line printed before the wait began still counts). */
  recentLines(): readonly { stream: 'stdout' | 'stderr'; line: string }[];
  stderrTail(): readonly string[];
  /** Subscribes to each further line; returns the unsubscribe. */
  onLine(cb: LineListener): () => void;
}

/** One readiness condition; `run` reports through done/fail and polls `stopped` to end early. */
interface ReadyCheck {
  what: string;
  run: (done: (how: string) => void, fail: (e: Error) => void, stopped: () => boolean) => void;
  /** Extra words for the timeout message (e.g. the last HTTP status seen). */
  detail?: () => string;
}

const POLL_MS = 50;

/**
 * Resolves with how the target became ready ("http 200 after 312ms"); rejects TargetError when it exits first
 * (with code/signal and last stderr lines), times out or is misconfigured, CancelledError when the signal aborts.
 */
export function waitReady(target: ReadinessSubject, ready: ResolvedReady, signal?: AbortSignal): Promise<string> {
  const t0 = performance.now();
  const elapsed = () => formatDuration(performance.now() - t0);
  let checks: ReadyCheck[];
  try {
    checks = [
      ready.tcpPort !== undefined ? tcpPortCheck(target, ready.tcpPort, elapsed) : null,
      ready.httpUrl !== undefined ? httpUrlCheck(target, ready.httpUrl, elapsed) : null,
      ready.logLine !== undefined ? logLineCheck(target, ready.logLine, elapsed) : null,
      ready.delayMs !== undefined ? delayCheck(ready.delayMs) : null,
    ].filter((c): c is ReadyCheck => c !== null);
  } catch (e) {
    return Promise.reject(e);
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
    const onExit = () => settle(exitedError(target, target.exitStatus() ?? { code: null, signal: null }, waitingFor()));
    // When the abort comes from the target's own exit, the exit is the better explanation.
    const onAbort = () => {
      const x = target.exitStatus();
      settle(x ? exitedError(target, x, waitingFor()) : new CancelledError());
    };

    if (signal?.aborted) return onAbort();
    if (target.exitStatus()) return onExit();
    if (checks.length === 0) return settle(null);

    void target.exited.then(onExit, onExit);
    if (signal) {
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    }
    const timer = setTimeout(() => {
      const detail = checks.map((c) => c.detail?.() ?? '').join('');
      const tail = target.stderrTail().length ? `\nLast stderr lines:\n  ${target.stderrTail().slice(-10).join('\n  ')}` : '';
      settle(new TargetError(`${target.name} was not ready after ${formatDuration(ready.timeoutMs)}: still waiting for ${waitingFor()}${detail}. Check the readiness setting (port, URL, log line) or raise ready.timeout.${tail}`));
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

/** Ready when 127.0.0.1:port accepts a connection, and the listener is the target (not another process). */
function tcpPortCheck(target: ReadinessSubject, port: number, elapsed: () => string): ReadyCheck {
  return {
    what: `TCP port ${port} on 127.0.0.1`,
    run: (done, fail, stopped) => {
      const attempt = async () => {
        while (!stopped()) {
          if (await canConnect(port)) {
            const owner = portOwner(port, target.pid, target.pid);
            if (typeof owner === 'object') return fail(portTakenError(port, owner));
            return done(`tcp 127.0.0.1:${port} after ${elapsed()}`);
          }
          await delay(POLL_MS);
        }
      };
      void attempt();
    },
  };
}

/** Ready when a GET of a loopback http:// URL answers below 500, from the target. */
function httpUrlCheck(target: ReadinessSubject, httpUrl: string, elapsed: () => string): ReadyCheck {
  let url: URL;
  try {
    url = new URL(httpUrl);
  } catch {
    throw new TargetError(`ready.httpUrl "${httpUrl}" is not a URL; write e.g. http://127.0.0.1:8080/health.`, 'input');
  }
  if (url.protocol !== 'http:') {
    throw new TargetError(`ready.httpUrl ${httpUrl} must be a plain http:// URL on 127.0.0.1, ::1 or localhost: Allocator Lab only talks to local targets.`, 'input');
  }
  // The same rule as for load: resolved once, checked to be loopback, and that address is the one polled.
  const pinned = pinUrl(httpUrl, false).catch((e: Error) => e);
  const port = Number(url.port || 80);
  let lastStatus = '';
  return {
    what: `HTTP ${httpUrl}`,
    run: (done, fail, stopped) => {
      const attempt = async () => {
        const pin = await pinned;
        if (pin instanceof Error) return fail(new TargetError(`ready.httpUrl ${httpUrl} must be a plain http:// URL on 127.0.0.1, ::1 or localhost. ${pin.message}`, 'input'));
        while (!stopped()) {
          const status = await httpStatus(pin);
          if (status !== null && status < 500) {
            const owner = portOwner(port, target.pid, target.pid);
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
  };
}

/** Ready when a stdout or stderr line matches (including lines printed before the wait began). */
function logLineCheck(target: ReadinessSubject, logLine: string, elapsed: () => string): ReadyCheck {
  let re: RegExp;
  try {
    re = new RegExp(logLine);
  } catch (e) {
    throw new TargetError(`ready.logLine is not a valid regular expression: ${(e as Error).message}.`, 'input');
  }
  return {
    what: `a line matching /${logLine}/`,
    run: (done, _fail, stopped) => {
      const seen = target.recentLines().find((r) => re.test(r.line));
      if (seen) return done(`log line "${clip(seen.line)}" after ${elapsed()}`);
      const unsubscribe = target.onLine((_stream, line) => {
        if (stopped()) {
          unsubscribe();
        } else if (re.test(line)) {
          unsubscribe();
          done(`log line "${clip(line)}" after ${elapsed()}`);
        }
      });
    },
  };
}

function delayCheck(ms: number): ReadyCheck {
  return {
    what: `a delay of ${formatDuration(ms)}`,
    run: (done, _fail, stopped) => {
      void delay(ms).then(() => !stopped() && done(`delay ${formatDuration(ms)}`));
    },
  };
}

/** The error for "exited before ready", naming the exit and the last stderr lines. */
function exitedError(target: ReadinessSubject, x: ExitStatus, waitingFor: string): TargetError {
  const how = x.signal ? `was killed by ${x.signal}` : `exited with code ${x.code}`;
  const tail = target.stderrTail();
  const lines = tail.length ? `\nLast stderr lines:\n  ${tail.slice(-10).join('\n  ')}` : ' It printed nothing on stderr.';
  return new TargetError(`${target.name} ${how} before it was ready (waiting for ${waitingFor}; full output in ${target.stderrPath}).${lines}`);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function clip(line: string): string {
  const text = printableOutput(line);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
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
