// External load drivers (wrk, siege, any program): started at phase start in their own process group, output
// saved to `<outDir>/driver-<phase>.log`, stopped at phase end; a driver that exits on its own ends the phase.
// SIGINT goes first because wrk prints its summary only on SIGINT (siege on SIGINT or SIGTERM); then SIGTERM, then
// SIGKILL for the whole group.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { AlloclabError, printableOutput } from '../../errors';
import { guardLaunch, registerGroup, signalGroup, unregisterGroup } from '../../os/groups';
import { which } from '../../os/which';
import { splitOrigin, type PinnedUrl } from '../../os/net';
import type { LoadStats } from '../../model';
import { emptyStats, loadVariables, resolveUrl, substitute, type LoadContext } from '../loadContext';
import type { LoadDriver } from './types';

export const commandLoadSchema = z
  .object({
    driver: z.literal('command').describe('An external load generator (wrk, siege, a script...).'),
    command: z.string().min(1).describe('The program: absolute, relative to the scenario file, or found on PATH.'),
    args: z.array(z.string()).default([])
      .describe('Arguments (no shell): ${url}, ${port}, ${duration} (whole seconds, e.g. wrk -d ${duration}s) and ${durationMs} are replaced.'),
    url: z.string().optional().describe('The URL the driver loads, available as ${url}; checked to be loopback unless remote targets are allowed.'),
    cwd: z.string().optional().describe('Working directory, relative to the scenario file. Default: the scenario file\'s folder.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment variables for the driver (same substitutions as args).'),
  })
  .strict()
  .describe('External load driver: started at phase start in its own process group, output saved to driver-<phase>.log, stopped at phase end.');

export type CommandLoadSpec = z.infer<typeof commandLoadSchema>;

/** An external program (wrk, siege, a script) as the load of a phase. */
export const commandDriver: LoadDriver<typeof commandLoadSchema> = {
  id: 'command',
  schema: commandLoadSchema,
  countsRequests: false,
  // Its URL is checked when the phase starts, once ${port} is known (resolveUrl).
  preflight: () => undefined,
  run: (spec, ctx) => runCommandLoad(spec, ctx),
};

const INT_GRACE_MS = 500;
const TERM_GRACE_MS = 2000;
/** An exit with a nonzero code before this share of the phase has passed is a failed start, not a finished run. */
const EARLY_EXIT_FRACTION = 0.1;

/** File name of the driver log of a phase (phase names may hold characters file systems dislike). */
export function driverLogName(phaseName: string): string {
  return `driver-${phaseName.replace(/[^\w.#-]+/g, '_')}.log`;
}

function tail(file: string, lines = 15): string {
  try {
    // Shown in an error on the user's terminal: no escape sequences from the driver.
    return printableOutput(readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n').trim(), true);
  } catch {
    return '';
  }
}

/** The URL with its host replaced by the pinned address (unchanged when the host already is that address). */
function withAddress(p: PinnedUrl): string {
  const host = p.family === 6 ? `[${p.address}]` : p.address;
  const { origin, rest } = splitOrigin(p.url);
  const u = new URL(origin);
  if (u.hostname.replace(/^\[|\]$/g, '') === p.address) return p.url;
  u.hostname = host;
  return `${u.href.replace(/\/$/, "")}${rest}`;
}

/** Runs an external driver for one phase; resolves when it exits, at phase end, or on abort, with what its output tells. */
export async function runCommandLoad(spec: CommandLoadSpec, ctx: LoadContext): Promise<LoadStats> {
  const vars = loadVariables(ctx);
  // The driver resolves names itself: give it the address checked here, not a name that may resolve elsewhere.
  if (spec.url !== undefined) vars.url = withAddress(await resolveUrl(spec.url, ctx));
  const args = spec.args.map((a) => substitute(a, vars));
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...Object.fromEntries(Object.entries(spec.env).map(([k, v]) => [k, substitute(v, vars)])) };
  const cwd = path.resolve(ctx.baseDir, spec.cwd ?? '.');
  if (!existsSync(cwd) || !statSync(cwd).isDirectory()) {
    throw new AlloclabError(`Load driver of phase "${ctx.phaseName}": working directory ${cwd} does not exist; fix "cwd" (relative to the scenario file).`, 'input');
  }
  // A path with a slash is relative to the scenario; a bare name is looked up on the driver's PATH.
  const command = spec.command.includes('/') ? path.resolve(ctx.baseDir, spec.command) : (which(spec.command, { pathEnv: env.PATH, cwd }) ?? spec.command);
  const notFound = () =>
    new AlloclabError(
      `Load driver "${spec.command}" of phase "${ctx.phaseName}" was not found${command.includes('/') ? ` at ${command}` : ' on PATH'}. ` +
        'Install it (e.g. apt-get install wrk siege) or give its absolute path in "command".',
      'input',
    );
  if (!command.includes('/') || !existsSync(command)) throw notFound();

  mkdirSync(ctx.outDir, { recursive: true });
  const logFile = path.join(ctx.outDir, driverLogName(ctx.phaseName));
  const fd = openSync(logFile, 'w');
  writeSync(fd, `# ${[command, ...args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  const started = Date.now();
  let child;
  try {
    // Tagged, through the exec helper, and in the registry: a second Ctrl-C or a killed engine ends it too.
    const guarded = guardLaunch(command, args, env);
    child = spawn(guarded.file, guarded.args, { cwd, env: guarded.env, stdio: ['ignore', fd, fd], detached: true });
    if (child.pid !== undefined) registerGroup(child.pid, guarded.tag);
  } finally {
    closeSync(fd);
  }

  type Exit = { code: number | null; signal: NodeJS.Signals | null; at: number };
  let exitInfo: Exit | null = null;
  const exited = new Promise<Exit>((resolve, reject) => {
    child.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? notFound() : new AlloclabError(`Load driver "${spec.command}" could not start: ${e.message}`, 'input')));
    child.once('exit', (code, signal) => resolve((exitInfo = { code, signal, at: Date.now() - started })));
  });
  // Keep a rejection that lands after we stopped waiting from being reported as unhandled.
  exited.catch(() => undefined);

  const phaseEnd = new AbortController();
  const onAbort = () => phaseEnd.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    const ended = sleep(ctx.durationMs, 'end' as const, { signal: phaseEnd.signal }).catch(() => 'end' as const);
    const first = await Promise.race([ended, exited]);
    if (first !== 'end') {
      const { code, signal, at } = first;
      if (code !== 0 && at < ctx.durationMs * EARLY_EXIT_FRACTION && !ctx.signal.aborted) {
        throw new AlloclabError(
          `Load driver "${spec.command}" of phase "${ctx.phaseName}" exited ${signal ? `on ${signal}` : `with code ${code}`} after ${at} ms, ` +
            `before the phase was 10 % through. Its output (${logFile}):\n${tail(logFile)}`,
          'failure',
        );
      }
      // It finished on its own (a fixed amount of work, or wrk -d ${duration}s): that ends the phase, so every
      // environment does the same work rather than idling under "load" for the rest of the duration.
      ctx.onDriverExit?.();
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    phaseEnd.abort();
    await stopGroup(child.pid, () => exitInfo !== null, exited);
  }
  return parseDriverOutput(readFileSync(logFile, 'utf8'), Date.now() - started);
}

async function stopGroup(pid: number | undefined, hasExited: () => boolean, exited: Promise<unknown>): Promise<void> {
  if (pid === undefined) return;
  const wait = (ms: number) => Promise.race([exited.then(() => true, () => true), sleep(ms).then(() => false)]);
  if (!hasExited()) {
    signalGroup(pid, 'SIGINT');
    if (!(await wait(INT_GRACE_MS))) {
      signalGroup(pid, 'SIGTERM');
      if (!(await wait(TERM_GRACE_MS))) {
        signalGroup(pid, 'SIGKILL');
        await wait(1000);
      }
    }
  }
  // Children the driver left behind share its group, or carry its run id: end them too.
  unregisterGroup(pid);
}

/**
 * Reads the summary of wrk, siege, redis-benchmark (without -q) or memcaslap out of their output; for other drivers
 * `parsed` is false (figures unknown).
 */
export function parseDriverOutput(text: string, durationMs: number): LoadStats {
  const stats: LoadStats = { ...emptyStats(durationMs), parsed: false };
  const wrk = /(\d+) requests in ([\d.]+)(us|ms|s|m|h)/.exec(text);
  if (wrk) {
    stats.parsed = true;
    stats.requests = Number(wrk[1]);
    const rps = /Requests\/sec:\s*([\d.]+)/.exec(text);
    stats.throughputRps = rps ? Number(rps[1]) : 0;
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
    if (sock) {
      stats.errors.connect = Number(sock[1]);
      stats.errors.other = Number(sock[2]) + Number(sock[3]);
      stats.errors.timeout = Number(sock[4]);
    }
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
    if (non2xx) stats.errors.status = Number(non2xx[1]);
    const pct = (p: string) => {
      const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(text);
      return m ? toMs(Number(m[1]), m[2]) : null;
    };
    const lat = /Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m)/.exec(text);
    const [p50, p90, p99] = [pct('50'), pct('90'), pct('99')];
    if (p50 != null && p90 != null && p99 != null && lat) stats.latencyMs = { p50, p90, p99, max: toMs(Number(lat[1]), lat[2]) };
    return stats;
  }
  // redis-benchmark: one block per test ("====== SET ======", "N requests completed in S seconds"); the phase's
  // requests are the sum over its tests. Its latency summary has p95, not the p90 a LoadStats carries: left out.
  const redisTests = [...text.matchAll(/^\s*(\d+) requests completed in ([\d.]+) seconds/gm)];
  if (redisTests.length) {
    stats.parsed = true;
    stats.requests = redisTests.reduce((a, m) => a + Number(m[1]), 0);
    const seconds = redisTests.reduce((a, m) => a + Number(m[2]), 0);
    stats.throughputRps = seconds > 0 ? stats.requests / seconds : 0;
    return stats;
  }
  // memcaslap (libmemcached-tools): "Run time: 12.3s Ops: 2000000 TPS: 162601 Net_rate: ...".
  const memcaslap = /Run time: ([\d.]+)s\s+Ops: (\d+)\s+TPS: (\d+)/.exec(text);
  if (memcaslap) {
    stats.parsed = true;
    stats.requests = Number(memcaslap[2]);
    stats.throughputRps = Number(memcaslap[3]);
    return stats;
  }
  // siege 4 prints a JSON-like summary; older versions "Transactions: N hits".
  const siege = /(?:^|[\s{])"?transactions"?:\s*(\d+)/im.exec(text);
  if (siege) {
    stats.parsed = true;
    stats.requests = Number(siege[1]);
    const rate = /"?transaction[ _]rate"?:\s*([\d.]+)/i.exec(text);
    stats.throughputRps = rate ? Number(rate[1]) : 0;
    const failed = /"?failed[ _]transactions"?:\s*(\d+)/i.exec(text);
    if (failed) stats.errors.other = Number(failed[1]);
  }
  return stats;
}

function toMs(v: number, unit: string): number {
  return v * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 } as Record<string, number>)[unit];
}
