// Stopping a profiled target without losing what the backend recorded.
import { realpathSync } from 'node:fs';
import { signalGroup, signalProcess } from '../os/groups';
import { processTable, readProcLink } from '../os/proc';
import { which } from '../os/which';

/**
 * SIGTERM to the target itself, not to its wrappers: heaptrack's interpreter and compressor must outlive the
 * target to finish the trace. Falls back to the group leader (valgrind is the target's own process).
 */
export function terminateTarget(pgid: number, binary: string): void {
  let want: string | null = null;
  try {
    want = realpathSync(which(binary) ?? binary);
  } catch {
    want = null;
  }
  const targets: number[] = [];
  for (const p of processTable()) {
    if (p.pgrp !== pgid || !want) continue;
    try {
      if (readProcLink(p.pid, 'exe') === want) targets.push(p.pid);
    } catch {
      // The process went away while we looked.
    }
  }
  for (const pid of targets.length ? targets : [pgid]) signalProcess(pid, 'SIGTERM');
}

/** SIGTERM to the whole process group (the target and anything it started). */
export function terminateGroup(pgid: number): void {
  signalGroup(pgid, 'SIGTERM');
}
