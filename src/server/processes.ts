// The processes a user can pick to watch, read straight from /proc (ps would cost a spawn per call).
import { listPids, processCommand, residentBytes } from '../core/os/proc';
import type { ProcessInfo } from '../protocol/lsp';

/** User-space processes other than this server, biggest RSS first. */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const pid of listPids()) {
    if (pid === process.pid) continue;
    // Kernel threads have no memory of their own to watch.
    const rssBytes = residentBytes(pid);
    if (!rssBytes) continue;
    const command = processCommand(pid);
    if (command) out.push({ pid, command, rssBytes });
  }
  return out.sort((a, b) => b.rssBytes - a.rssBytes);
}
