// Everything read from /proc lives here (an ESLint rule keeps it so): the stat line, the process table and
// trees, the environment and maps of a process, the page size. The sampler's reader is cheap enough for a
// hundred reads a second: files are opened once and re-read with pread at offset 0 (procfs regenerates the
// content on each read at offset 0), which makes a statm read about 2 µs instead of 6 (notes/native-tools.md).
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';

let pageSizeBytes: number | undefined;
let ticksPerSecond: number | undefined;

function getconf(name: string, fallback: number): number {
  try {
    const v = Number(execFileSync('getconf', [name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

/** Memory page size in bytes (asked of getconf once; 4096 when that fails). */
export function pageSize(): number {
  return (pageSizeBytes ??= getconf('PAGESIZE', 4096));
}

/** Clock ticks per second, the unit of the CPU times in /proc/PID/stat (getconf CLK_TCK once; 100 when that fails). */
export function clockTicks(): number {
  return (ticksPerSecond ??= getconf('CLK_TCK', 100));
}

/** The fields of /proc/PID/stat the sampler uses. CPU times in clock ticks. */
export interface StatFields {
  /** The command name (at most 15 bytes; may hold spaces and parentheses). */
  comm: string;
  state: string;
  ppid: number;
  /** Process group id. */
  pgrp: number;
  utime: number;
  stime: number;
  /** CPU time of children this process has waited for (keeps the tree's sum from dropping when a child is reaped). */
  cutime: number;
  cstime: number;
  threads: number;
}

/**
 * Resident pages from the first `n` bytes of /proc/PID/statm in `buf` (its second field); null for a process
 * without an address space, which for a user process means a zombie (statm then reads all zeros). Parsed from
 * the bytes: no string is made on the path taken a hundred times a second.
 */
export function parseStatmBytes(buf: Uint8Array, n: number): number | null {
  let i = 0;
  let size = 0;
  for (; i < n && buf[i] !== 32; i++) size = size * 10 + buf[i] - 48;
  const start = ++i;
  let resident = 0;
  for (; i < n && buf[i] >= 48 && buf[i] <= 57; i++) resident = resident * 10 + buf[i] - 48;
  if (start >= n || i === start || !Number.isFinite(size)) {
    throw new Error(`unexpected statm content: ${JSON.stringify(Buffer.from(buf.subarray(0, Math.min(n, 80))).toString('latin1'))}`);
  }
  return size === 0 ? null : resident;
}

/** parseStatmBytes for text. */
export function parseStatm(text: string): number | null {
  const b = Buffer.from(text, 'latin1');
  return parseStatmBytes(b, b.length);
}

/** Parse /proc/PID/stat. The command name may contain spaces and parentheses, so fields count from the last ')'. */
export function parseStat(text: string): StatFields {
  const close = text.lastIndexOf(')');
  if (close < 0) throw new Error(`unexpected stat content: ${JSON.stringify(text.slice(0, 80))}`);
  // f[0] is field 3 (state) of proc(5).
  const f = text.slice(close + 2).split(' ');
  if (f.length < 18) throw new Error(`unexpected stat content: ${JSON.stringify(text.slice(0, 80))}`);
  return {
    comm: text.slice(text.indexOf('(') + 1, close),
    state: f[0],
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    utime: Number(f[11]),
    stime: Number(f[12]),
    cutime: Number(f[13]),
    cstime: Number(f[14]),
    threads: Number(f[17]),
  };
}

/** The breakdown of resident memory from /proc/PID/status, in bytes. */
export interface StatusFields {
  anonBytes: number;
  fileBytes: number;
  shmemBytes: number;
}

function kbField(text: string, key: string): number | undefined {
  const i = text.indexOf(key);
  if (i < 0) return undefined;
  const v = parseInt(text.slice(i + key.length, text.indexOf('\n', i + 1)), 10);
  return Number.isFinite(v) ? v * 1024 : undefined;
}

/** RssAnon / RssFile / RssShmem from the text of /proc/PID/status; null for a process without memory (kernel thread, zombie). */
export function parseStatus(text: string): StatusFields | null {
  const anon = kbField(text, '\nRssAnon:');
  if (anon === undefined) return null;
  return { anonBytes: anon, fileBytes: kbField(text, '\nRssFile:') ?? 0, shmemBytes: kbField(text, '\nRssShmem:') ?? 0 };
}

/** Pss in bytes from the text of /proc/PID/smaps_rollup; null when absent. */
export function parsePss(text: string): number | null {
  const i = text.indexOf('\nPss:');
  if (i < 0) return null;
  const v = parseInt(text.slice(i + 5, text.indexOf('\n', i + 1)), 10);
  return Number.isFinite(v) ? v * 1024 : null;
}

// One buffer for every read on this thread: the readers never run concurrently within a thread.
const buffer = Buffer.allocUnsafe(16 * 1024);

function preadText(fd: number): string | null {
  try {
    const n = readSync(fd, buffer, 0, buffer.length, 0);
    return n > 0 ? buffer.toString('latin1', 0, n) : null;
  } catch {
    // ESRCH once the process is gone (the fd stays bound to the old process, so pid reuse cannot fool it).
    return null;
  }
}

function tryOpen(path: string): number | null {
  try {
    return openSync(path, 'r');
  } catch {
    return null;
  }
}

/** Open procfs files of one process. Every read returns null once the process is gone. */
export class ProcessReader {
  private statusFd: number | null = null;
  private smapsFd: number | null = null;
  private closed = false;
  private readonly pageBytes = pageSize();

  private constructor(
    readonly pid: number,
    private readonly statmFd: number,
    private readonly statFd: number,
  ) {}

  /** Opens the files of `pid`; null when there is no such process. */
  static open(pid: number): ProcessReader | null {
    const statm = tryOpen(`/proc/${pid}/statm`);
    if (statm === null) return null;
    const stat = tryOpen(`/proc/${pid}/stat`);
    if (stat === null) {
      closeSync(statm);
      return null;
    }
    return new ProcessReader(pid, statm, stat);
  }

  /** Resident set size in bytes; null once the process is gone or a zombie. */
  rssBytes(): number | null {
    let n: number;
    try {
      n = readSync(this.statmFd, buffer, 0, 256, 0);
    } catch {
      return null; // ESRCH: gone
    }
    const pages = n > 0 ? parseStatmBytes(buffer, n) : null;
    return pages === null ? null : pages * this.pageBytes;
  }

  stat(): StatFields | null {
    const text = preadText(this.statFd);
    return text === null ? null : parseStat(text);
  }

  status(): StatusFields | null {
    this.statusFd ??= tryOpen(`/proc/${this.pid}/status`);
    if (this.statusFd === null) return null;
    const text = preadText(this.statusFd);
    return text === null ? null : parseStatus(text);
  }

  /** Proportional set size in bytes. Costs milliseconds on a process of hundreds of MB. */
  pssBytes(): number | null {
    this.smapsFd ??= tryOpen(`/proc/${this.pid}/smaps_rollup`);
    if (this.smapsFd === null) return null;
    const text = preadText(this.smapsFd);
    return text === null ? null : parsePss(text);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [this.statmFd, this.statFd, this.statusFd, this.smapsFd]) {
      if (fd !== null) {
        try {
          closeSync(fd);
        } catch {
          // already gone
        }
      }
    }
  }
}

/** True for states of a process that has ended but was not yet reaped. */
export function isDeadState(state: string): boolean {
  return state === 'Z' || state === 'X' || state === 'x';
}

/**
 * Finds the descendants of a process. /proc/PID/task/TID/children needs CONFIG_PROC_CHILDREN, which kernels
 * (this project's VM among them) may lack, so this lists /proc and follows parent pids. A parent pid never
 * changes except by re-parenting (and then the old parent is gone, which breaks the chain as it should), so
 * each pid's stat is read once and remembered until the pid is missing from a listing. A reused pid could only
 * fool that if the kernel went through its whole pid space between two scans.
 */
export class ProcessTreeScanner {
  private readonly parentOf = new Map<number, number>();

  /** `root` followed by its descendants (breadth first); empty when `root` does not exist. */
  tree(root: number): number[] {
    let names: string[];
    try {
      names = readdirSync('/proc');
    } catch {
      return [];
    }
    const alive = new Set<number>();
    const children = new Map<number, number[]>();
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      let ppid = this.parentOf.get(pid);
      if (ppid === undefined) {
        try {
          ppid = parseStat(readFileSync(`/proc/${pid}/stat`, 'latin1')).ppid;
        } catch {
          continue; // ended between readdir and read
        }
        this.parentOf.set(pid, ppid);
      }
      alive.add(pid);
      let list = children.get(ppid);
      if (!list) children.set(ppid, (list = []));
      list.push(pid);
    }
    for (const pid of this.parentOf.keys()) if (!alive.has(pid)) this.parentOf.delete(pid);
    if (!alive.has(root)) return [];
    const out = [root];
    for (let i = 0; i < out.length; i++) {
      for (const child of children.get(out[i]) ?? []) out.push(child);
    }
    return out;
  }

  /** Drops what is remembered about `pid` (call when it was seen to end, so a reused pid is read afresh). */
  forget(pid: number): void {
    this.parentOf.delete(pid);
  }
}

/** Pids of every process visible in /proc (kernel threads included), in no particular order. */
export function listPids(): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

/** One row of the process table. */
export interface ProcessEntry {
  pid: number;
  ppid: number;
  pgrp: number;
  comm: string;
}

/** The stat of one process; null when it is gone (or unreadable). */
export function readStat(pid: number): StatFields | null {
  const text = tryReadProcText(pid, 'stat');
  return text === null ? null : parseStat(text);
}

/** Every process with its parent, group and name (processes that end while we look are left out). */
export function processTable(): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  for (const pid of listPids()) {
    const st = readStat(pid);
    if (st) out.push({ pid, ppid: st.ppid, pgrp: st.pgrp, comm: st.comm });
  }
  return out;
}

/** The pids of `root` and its descendants, breadth first, from one table (a daemon that left the group is still a descendant until re-parented). */
export function descendantsOf(root: number, table: readonly ProcessEntry[] = processTable()): number[] {
  const children = new Map<number, number[]>();
  for (const p of table) {
    let list = children.get(p.ppid);
    if (!list) children.set(p.ppid, (list = []));
    list.push(p.pid);
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const c of children.get(out[i]) ?? []) out.push(c);
  return out;
}

/** Pids of the process group `pgid` and of every descendant of `pid` (daemons may leave the group). */
export function processTreePids(pid: number, pgid: number): Set<number> {
  const table = processTable();
  const pids = new Set<number>(descendantsOf(pid, table));
  for (const p of table) if (p.pgrp === pgid) for (const d of descendantsOf(p.pid, table)) pids.add(d);
  return pids;
}

/** The text of /proc/PID/NAME (PID may be "self" or "thread-self"); throws the fs error (ENOENT/ESRCH when gone, EACCES when another user's). */
export function readProcText(pid: number | 'self' | 'thread-self', name: string): string {
  return readFileSync(`/proc/${pid}/${name}`, 'utf8');
}

/** readProcText, or null when the file cannot be read. */
export function tryReadProcText(pid: number | 'self' | 'thread-self', name: string): string | null {
  try {
    return readProcText(pid, name);
  } catch {
    return null;
  }
}

/** The raw bytes of /proc/PID/NAME (auxv is binary); throws the fs error. */
export function readProcBytes(pid: number, name: string): Buffer {
  return readFileSync(`/proc/${pid}/${name}`);
}

/** Where /proc/PID/LINK points (exe, cwd, fd/N); throws the fs error. */
export function readProcLink(pid: number | 'self' | 'thread-self', link: string): string {
  return readlinkSync(`/proc/${pid}/${link}`);
}

/** The path /proc/PID/NAME, for messages and for readers that take a path. */
export function procPath(pid: number | 'self' | 'thread-self', name: string): string {
  return `/proc/${pid}/${name}`;
}

/** The path of a process's executable, read through /proc so a replaced or deleted file on disk does not mislead. */
export function procExePath(pid: number): string {
  return procPath(pid, 'exe');
}

/** The environment a process was started with (/proc/PID/environ); null when it cannot be read. */
export function readEnviron(pid: number): Map<string, string> | null {
  const text = tryReadProcText(pid, 'environ');
  if (text === null) return null;
  const out = new Map<string, string>();
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    // getenv answers the first of duplicate entries.
    if (eq > 0 && !out.has(entry.slice(0, eq))) out.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return out;
}

/** The command line of a process (arguments joined by spaces), `[comm]` for kernel threads, or null when gone. */
export function processCommand(pid: number): string | null {
  const raw = tryReadProcText(pid, 'cmdline');
  if (raw === null) return null;
  const cmd = raw.split('\0').filter(Boolean).join(' ');
  if (cmd) return cmd;
  const comm = tryReadProcText(pid, 'comm');
  return comm === null ? null : `[${comm.trim()}]`;
}

/** Resident set size of any process in bytes (statm with the real page size); null when gone or without memory. */
export function residentBytes(pid: number): number | null {
  const text = tryReadProcText(pid, 'statm');
  if (text === null) return null;
  const pages = parseStatm(text);
  return pages === null ? null : pages * pageSize();
}

/** CPU time of the calling thread in nanoseconds (/proc/thread-self/schedstat); null when unreadable. */
export function threadCpuNs(): number | null {
  const text = tryReadProcText('thread-self', 'schedstat');
  return text === null ? null : Number(text.split(' ')[0]);
}

/** The kernel thread id of the calling thread. */
export function ownThreadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').pop());
}
