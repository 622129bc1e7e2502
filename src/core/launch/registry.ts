// Every process group we started and that may still be alive. Exit and SIGINT handlers kill them synchronously,
// so a crashing CLI or a killed editor leaves no target running.
const liveGroups = new Set<number>();
let exitHookInstalled = false;

export function registerGroup(pgid: number): void {
  liveGroups.add(pgid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', killAllTargets);
  }
}

export function unregisterGroup(pgid: number): void {
  liveGroups.delete(pgid);
}

/** Sends a signal to a whole process group; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Synchronously SIGKILLs every process group we started that is still alive (for exit/SIGINT handlers). */
export function killAllTargets(): void {
  for (const pgid of liveGroups) signalGroup(pgid, 'SIGKILL');
}

/** Process groups currently registered (for tests and diagnostics). */
export function liveTargetGroups(): number[] {
  return [...liveGroups];
}
