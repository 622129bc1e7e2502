// Free ports for targets, and who really listens on a port: a readiness check that connects to a port another
// process already holds would report a target "ready" that never started listening.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as net from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Socket inodes listening on this TCP port (IPv4 and IPv6) in our network namespace. */
export function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st ... inode (field 9); st 0A = LISTEN
      if (f.length < 10 || f[3] !== '0A') continue;
      if (f[1].split(':')[1] === hexPort) inodes.add(f[9]);
    }
  }
  return inodes;
}

interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  comm: string;
}

function processTable(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm may contain spaces and parentheses: the fields after it start at the last ')'.
      const close = stat.lastIndexOf(')');
      const rest = stat.slice(close + 2).split(' ');
      out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(rest[1]), pgrp: Number(rest[2]) });
    } catch {
      // Exited while we looked.
    }
  }
  return out;
}

/** Pids of the process group `pgid` and of every descendant of `pid` (daemons may leave the group). */
export function processTreePids(pid: number, pgid: number): Set<number> {
  const table = processTable();
  const pids = new Set<number>([pid]);
  for (const p of table) if (p.pgrp === pgid) pids.add(p.pid);
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of table) {
      if (!pids.has(p.pid) && pids.has(p.ppid)) {
        pids.add(p.pid);
        grew = true;
      }
    }
  }
  return pids;
}

function holdsSocket(pid: number, inodes: Set<string>): boolean {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1])) return true;
    } catch {
      // Closed while we looked.
    }
  }
  return false;
}

/**
 * Who listens on `port`: 'ours' (the target's tree), 'unknown' (no listener visible, e.g. another network
 * namespace, or no permission), or the pid and name of another process.
 */
export function portOwner(port: number, pid: number, pgid: number): 'ours' | 'unknown' | { pid: number; comm: string } {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return 'unknown';
  for (const p of processTreePids(pid, pgid)) if (holdsSocket(p, inodes)) return 'ours';
  for (const p of processTable()) if (holdsSocket(p.pid, inodes)) return { pid: p.pid, comm: p.comm };
  return 'unknown';
}
