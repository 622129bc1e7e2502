// Stopping a profiled target without losing what the backend recorded.
import { existsSync, readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import * as path from 'node:path';

/**
 * SIGTERM to the target itself, not to its wrappers: heaptrack's interpreter and compressor must outlive the
 * target to finish the trace. Falls back to the group leader (valgrind is the target's own process).
 */
export function terminateTarget(pgid: number, binary: string): void {
  let want: string | null = null;
  try {
    want = realpathSync(binary.includes('/') ? binary : whichSync(binary) ?? binary);
  } catch {
    want = null;
  }
  const targets: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      if (want && readlinkSync(`/proc/${name}/exe`) === want) targets.push(Number(name));
    } catch {
      // The process went away while we looked.
    }
  }
  for (const pid of targets.length ? targets : [pgid]) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
  }
}

function whichSync(exe: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir || '.', exe);
    if (existsSync(p)) return p;
  }
  return null;
}

/** SIGTERM to the whole process group (the target and anything it started). */
export function terminateGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGTERM');
  } catch {
    // Gone already.
  }
}
