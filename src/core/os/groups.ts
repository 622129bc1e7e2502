// Starting, signalling and killing what the engine launches, with a guarantee that does not depend on the
// engine exiting cleanly:
// - every launch (targets, profilers, load drivers) is tagged with a run id in its environment, inherited by
//   everything it starts, so stragglers that left the process group (setsid) are found in /proc/PID/environ;
// - every launch goes through the native exec helper, which sets PR_SET_PDEATHSIG: a direct child dies with
//   the engine even when the engine is SIGKILLed;
// - a watchdog process holds a pipe from the engine and, when it closes, kills the registered groups and the
//   tagged stragglers (os/watchdogMain.ts);
// - exit and signal handlers kill them synchronously too (killAllTargets).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot, workerPath } from '../workers';
import { listPids, readEnviron } from './proc';

/** The environment variable that tags every process of a launch: `<engine id>-<launch number>`. */
export const RUN_ID_VAR = 'ALLOCLAB_RUN_ID';

const engineId = `${process.pid.toString(36)}${randomBytes(6).toString('hex')}`;
let launches = 0;
const liveGroups = new Map<number, string | null>();
let exitHookInstalled = false;
let watchdog: ChildProcess | null = null;
let watchdogFailed = false;

/** The run-id prefix of every process this engine started (`<engine id>-`). */
export function enginePrefix(): string {
  return `${engineId}-`;
}

/** The native exec helper (native/build/alloclab-exec), or null when the native part was not built. */
export function execHelperPath(): string | null {
  const p = path.join(packageRoot(), 'native', 'build', 'alloclab-exec');
  return existsSync(p) ? p : null;
}

/** A command line ready to spawn (detached, in its own group), tagged, through the exec helper when built. */
export interface GuardedLaunch {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** The run id of this launch (the value of ALLOCLAB_RUN_ID in its environment). */
  tag: string;
}

/** How to start `file`: its environment tagged with a new run id, and PR_SET_PDEATHSIG set by the exec helper. */
export function guardLaunch(file: string, args: readonly string[], env: Readonly<Record<string, string>>): GuardedLaunch {
  const tag = `${engineId}-${++launches}`;
  const tagged = { ...env, [RUN_ID_VAR]: tag };
  const helper = execHelperPath();
  return helper ? { file: helper, args: [String(process.pid), file, ...args], env: tagged, tag } : { file, args: [...args], env: tagged, tag };
}

/** Starts this process's watchdog (once): what its launches left is killed when this process goes, however it goes. */
export function startWatchdog(): void {
  if (watchdog || watchdogFailed) return;
  try {
    const child = spawn(process.execPath, [workerPath('watchdog'), enginePrefix(), String(process.pid)], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
      // Electron hosts (the extension host) run the script as plain Node only with this set.
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    child.once('error', () => {
      watchdogFailed = true;
      watchdog = null;
    });
    child.once('exit', () => {
      if (watchdog === child) watchdog = null;
    });
    child.stdin?.on('error', () => undefined);
    // The watchdog must never keep the engine alive.
    child.unref();
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    watchdog = child;
    for (const pgid of liveGroups.keys()) tellWatchdog(`+${pgid}`);
  } catch {
    watchdogFailed = true;
  }
}

function tellWatchdog(line: string): void {
  if (!watchdog?.stdin?.writable) return;
  watchdog.stdin.write(`${line}\n`);
}

/** Records a process group we started (a target, a load driver, a profiler) until unregisterGroup; `tag` is its run id. */
export function registerGroup(pgid: number, tag: string | null = null): void {
  liveGroups.set(pgid, tag);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', killAllTargets);
  }
  startWatchdog();
  tellWatchdog(`+${pgid}`);
}

/** Forgets a process group after killing it and whatever its launch left outside it (processes that called setsid). */
export function unregisterGroup(pgid: number): void {
  const tag = liveGroups.get(pgid);
  signalGroup(pgid, 'SIGKILL');
  if (tag) killTagged(tag);
  liveGroups.delete(pgid);
  tellWatchdog(`-${pgid}`);
}

/** Sends a signal to a whole process group; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Sends a signal to one process; false when it is gone. */
export function signalProcess(pid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The pids whose ALLOCLAB_RUN_ID is `tag`, or starts with it when it ends in "-" (an engine's prefix). */
export function taggedPids(tag: string, exclude: readonly number[] = [process.pid]): number[] {
  const out: number[] = [];
  const prefix = tag.endsWith('-');
  for (const pid of listPids()) {
    if (exclude.includes(pid)) continue;
    const id = readEnviron(pid)?.get(RUN_ID_VAR);
    if (id !== undefined && (prefix ? id.startsWith(tag) : id === tag)) out.push(pid);
  }
  return out;
}

/** SIGKILLs every process tagged `tag` (see taggedPids); returns how many were signalled. */
export function killTagged(tag: string, exclude: readonly number[] = [process.pid]): number {
  let n = 0;
  for (const pid of taggedPids(tag, exclude)) if (signalProcess(pid, 'SIGKILL')) n++;
  return n;
}

/** Synchronously SIGKILLs every process group we started that is still alive, and every tagged straggler (for exit/signal handlers). */
export function killAllTargets(): void {
  if (liveGroups.size === 0 && launches === 0) return;
  for (const pgid of liveGroups.keys()) signalGroup(pgid, 'SIGKILL');
  killTagged(enginePrefix());
}

/** Process groups currently registered (for tests and diagnostics). */
export function liveTargetGroups(): number[] {
  return [...liveGroups.keys()];
}
