// "What would come back": asks a running target, through its probe's control block, to give its free memory back
// to the OS (glibc malloc_trim(0); jemalloc arena purge; tcmalloc ReleaseFreeMemory; mimalloc mi_collect). The
// probe runs the request on its own thread, never in a signal handler; RSS just before and after is measured there.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { AlloclabError } from '../errors';
import type { EnvironmentRecord, RunEvent } from '../model';
import { readEnviron } from '../os/proc';
import { appendEventToRun, openRun } from '../runs/store';
import { CONTROL, HEADER, OPS } from './layout';
import { childProbePath, probeLibraryPath, readProbe, type ProbeAllocator } from './probe';

/** What one request gave back (the JSON of `alloclab trim --json`). */
export interface TrimResult {
  pid: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** rssBefore - rssAfter (negative if RSS grew meanwhile). */
  returnedBytes: number;
  allocator: ProbeAllocator;
  /** CLOCK_MONOTONIC of the answer, ns: places the event on a run's timeline. */
  doneNs: bigint;
  /** The probe's file start (CLOCK_MONOTONIC, ns), the process's start as far as the probe knows. */
  probeStartNs: bigint;
}

/** The target runs without the probe: there is no control block to ask. */
export class NoProbeError extends AlloclabError {
  constructor(readonly pid: number, why: string) {
    super(
      `Process ${pid} has no Allocator Lab probe (${why}), so it cannot be asked to trim. Start it with one: ` +
      '`alloclab run SCENARIO --ledger` (or `alloclab compare --ledger -- BINARY ARGS`), or by hand with ' +
      `ALLOCLAB_PROBE_SHM=/dev/shm/NAME.probe LD_PRELOAD=${probeLibraryPath()} BINARY ARGS.`,
      'environment',
    );
  }
}

/** The probe's file of a running process, found from its environment (/proc/PID/environ). */
export function probeFileOf(pid: number): string {
  const env = readEnviron(pid);
  if (!env) throw new AlloclabError(`Process ${pid} is not running, or its environment cannot be read (another user's process?).`, 'failure');
  const shm = env.get('ALLOCLAB_PROBE_SHM');
  if (!shm) throw new NoProbeError(pid, 'ALLOCLAB_PROBE_SHM is not in its environment');
  if (!(env.get('LD_PRELOAD') ?? '').includes('liballoclab-probe')) throw new NoProbeError(pid, 'the probe is not in its LD_PRELOAD');
  // The first process started with the variable owns the path; a forked or exec'd child writes "<path>.<pid>".
  for (const file of [shm, childProbePath(shm, pid)]) {
    const r = readProbe(file);
    if (r && r.pid === pid) return file;
  }
  throw new NoProbeError(pid, `no probe file of this process at ${shm} (the probe library may be missing or could not create it)`);
}

/**
 * Asks the probe in `file` to give free memory back and waits for its answer (the probe thread looks every
 * 20 ms). One request at a time per target: a second requester racing the first may see the first's answer.
 */
export async function requestTrim(file: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<TrimResult> {
  const reading = readProbe(file);
  if (!reading) throw new AlloclabError(`The probe file ${file} is missing or incomplete: is the target still running?`, 'failure');
  if (!reading.statsThread) {
    throw new AlloclabError(`The probe in process ${reading.pid} runs without its thread (ALLOCLAB_PROBE_NO_STATS is set), which is what answers requests; start the target without that variable.`, 'environment');
  }
  const fd = openSync(file, 'r+');
  try {
    const word = Buffer.alloc(8);
    readSync(fd, word, 0, 8, CONTROL.requestSeq);
    const seq = word.readBigUInt64LE(0) + 1n;
    const op = Buffer.alloc(4);
    op.writeUInt32LE(OPS.trim, 0);
    writeSync(fd, op, 0, 4, CONTROL.requestOp);
    word.writeBigUInt64LE(seq, 0);
    writeSync(fd, word, 0, 8, CONTROL.requestSeq);
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    const answer = Buffer.alloc(56);
    for (;;) {
      readSync(fd, answer, 0, answer.length, CONTROL.requestSeq);
      if (answer.readBigUInt64LE(CONTROL.doneSeq - CONTROL.requestSeq) === seq) break;
      if (Date.now() > deadline) {
        throw new AlloclabError(`The probe in process ${reading.pid} did not answer within ${(opts.timeoutMs ?? 5000) / 1000} s (is the process stopped, e.g. in a debugger?).`, 'failure');
      }
      await sleep(10, undefined, { signal: opts.signal });
    }
    const at = (o: number) => answer.readBigUInt64LE(o - CONTROL.requestSeq);
    const result = answer.readBigInt64LE(CONTROL.result - CONTROL.requestSeq);
    if (result < 0n) {
      throw new AlloclabError(`The allocator serving process ${reading.pid} (${reading.allocator}${reading.allocatorPath ? `, ${reading.allocatorPath}` : ''}) has no call the probe knows to give memory back.`, 'environment');
    }
    const before = Number(at(CONTROL.rssBefore));
    const after = Number(at(CONTROL.rssAfter));
    const header = Buffer.alloc(8);
    readSync(fd, header, 0, 8, HEADER.startNs);
    return {
      pid: reading.pid, rssBeforeBytes: before, rssAfterBytes: after, returnedBytes: before - after, allocator: reading.allocator,
      doneNs: at(CONTROL.doneNs), probeStartNs: header.readBigUInt64LE(0),
    };
  } finally {
    closeSync(fd);
  }
}

/** Trims a running process found by pid (its probe file from its environment). */
export async function trimProcess(pid: number, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<TrimResult> {
  return requestTrim(probeFileOf(pid), opts);
}

/** The timeline event of a trim, `t` in ms since the environment's spawn. */
export function trimEvent(r: TrimResult, t: number): Extract<RunEvent, { type: 'trim' }> {
  return { t, type: 'trim', pid: r.pid, rssBeforeBytes: r.rssBeforeBytes, rssAfterBytes: r.rssAfterBytes, returnedBytes: r.returnedBytes, allocator: r.allocator };
}

/** The call each allocator makes when asked to give memory back, in words. */
export function trimCallName(allocator: string): string {
  switch (allocator) {
    case 'glibc': return 'malloc_trim(0)';
    case 'jemalloc': return 'an arena purge (arena.<all>.purge)';
    case 'tcmalloc': return 'MallocExtension::ReleaseFreeMemory()';
    case 'mimalloc': return 'mi_collect(true)';
    default: return 'its release call';
  }
}

/**
 * Trims the running environment of a run folder (the last one still running, as its record says) and puts a
 * `trim` event on its timeline. The event's time is counted from the probe's start, which is within
 * milliseconds of the spawn the run's clock counts from.
 */
export async function trimRunFolder(dir: string, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ result: TrimResult; env: EnvironmentRecord }> {
  const run = openRun(dir);
  const running = run.environments.map((e) => e.record).filter((e) => e.pid !== null && e.exit === null && e.appliedEnv.ALLOCLAB_PROBE_SHM);
  const env = running.at(-1);
  if (!env) {
    const anyProbe = run.environments.some((e) => e.record.appliedEnv.ALLOCLAB_PROBE_SHM);
    throw new AlloclabError(anyProbe
      ? `No environment of ${dir} is running (the run finished or was interrupted): trim works on a running target.`
      : `The run ${dir} runs without the probe, so its target cannot be asked to trim: run it with --ledger (or "ledger": true in the scenario).`, 'input');
  }
  const live = readEnviron(env.pid!);
  if (!live || live.get('ALLOCLAB_PROBE_SHM') !== env.appliedEnv.ALLOCLAB_PROBE_SHM) {
    throw new AlloclabError(`The target of ${env.label} in ${dir} (pid ${env.pid}) is no longer running: the run was interrupted.`, 'failure');
  }
  const result = await requestTrim(probeFileOf(env.pid!), opts);
  appendEventToRun(dir, env, trimEvent(result, Number(result.doneNs - result.probeStartNs) / 1e6));
  return { result, env };
}
