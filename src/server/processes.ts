// The processes a user can pick to watch, read straight from /proc (ps would cost a spawn per call).
import * as fs from 'node:fs';
import type { ProcessInfo } from '../protocol/lsp';

const PAGE = 4096;

/** The command line of a process (arguments joined by spaces), its name for kernel threads, or null when gone. */
export function processCommand(pid: number): string | null {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const cmd = raw.split('\0').filter(Boolean).join(' ');
    if (cmd) return cmd;
    return `[${fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()}]`;
  } catch {
    return null;
  }
}

/** User-space processes other than this server, biggest RSS first. */
export function listProcesses(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    try {
      const statm = fs.readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
      const rssBytes = Number(statm[1]) * PAGE;
      // Kernel threads have no memory of their own to watch.
      if (!rssBytes) continue;
      const command = processCommand(pid);
      if (command) out.push({ pid, command, rssBytes });
    } catch {
      // Exited while we listed.
    }
  }
  return out.sort((a, b) => b.rssBytes - a.rssBytes);
}
