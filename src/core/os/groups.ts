// Signalling processes and process groups, and the registry of every group the engine started and that may
// still be alive. Exit and signal handlers kill them synchronously, so a crashing CLI or a killed editor
// leaves no target running.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

/** Records a process group we started (a target, a load driver, a profiler) until unregisterGroup. */
export function registerGroup(pgid: number): void {
  liveGroups.add(pgid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', killAllTargets);
  }
}

/** Forgets a process group (its leader exited and the group was killed). */
export function unregisterGroup(pgid: number): void {
  liveGroups.delete(pgid);
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

/** Synchronously SIGKILLs every process group we started that is still alive (for exit/signal handlers). */
export function killAllTargets(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
}

/** Process groups currently registered (for tests and diagnostics). */
export function liveTargetGroups(): number[] {
  return [...liveGroups];
}
