// Finding the debuggee of a debug adapter that does not report its PID, and reading a process's memory breakdown
// at a breakpoint. Both read /proc only; a process of another user (or one that is gone) is a normal case.
import { processTable, procPath, readProcText, tryReadProcText } from '../os/proc';
import { AlloclabError } from '../errors';
import { parseNdjson } from '../runs/store';

/** Processes that belong to the debugger, never the debuggee. */
const DEBUGGER_COMMS = /^(lldb|lldb-\S*|gdb|gdbserver|gdb-\S*|OpenDebugAD7|mono|dotnet|codelldb|node|sh|bash|dash|rr)$/;

interface ProcEntry {
  pid: number;
  ppid: number;
  comm: string;
  tracerPid: number;
}

function allProcesses(): ProcEntry[] {
  return processTable().map((p) => {
    // status unreadable: the process just went away; stat was enough.
    const status = tryReadProcText(p.pid, 'status');
    const tracerPid = Number((status && /^TracerPid:\s+(\d+)/m.exec(status)?.[1]) ?? 0);
    return { pid: p.pid, ppid: p.ppid, comm: p.comm, tracerPid };
  });
}

/** The debuggee among the descendants of a debug adapter process: a traced process first, else (unless tracedOnly) the first descendant that is not a debugger or shell; null when there is none. */
export function findDebuggeePid(adapterPid: number, opts: { exclude?: Iterable<number>; tracedOnly?: boolean } = {}): number | null {
  const exclude = new Set(opts.exclude ?? []);
  const procs = allProcesses();
  const children = new Map<number, ProcEntry[]>();
  for (const p of procs) {
    const list = children.get(p.ppid) ?? [];
    list.push(p);
    children.set(p.ppid, list);
  }
  // Breadth first: the debuggee sits below the adapter (and below lldb-server or gdb), never beside it.
  const descendants: ProcEntry[] = [];
  const queue = [...(children.get(adapterPid) ?? [])];
  while (queue.length) {
    const p = queue.shift()!;
    descendants.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  const candidates = descendants.filter((p) => !exclude.has(p.pid));
  const inTree = new Set([adapterPid, ...descendants.map((d) => d.pid)]);
  const traced = candidates.find((p) => p.tracerPid !== 0 && inTree.has(p.tracerPid) && !DEBUGGER_COMMS.test(p.comm));
  if (traced) return traced.pid;
  // Searching below a process that hosts more than debug adapters (the extension host): only a traced one is sure.
  if (opts.tracedOnly) return null;
  return candidates.find((p) => !DEBUGGER_COMMS.test(p.comm))?.pid ?? null;
}

/** The debuggee's memory, read from /proc/PID/smaps_rollup and /proc/PID/status at one moment. Bytes. */
export interface MemorySnapshot {
  /** Wall-clock time, ISO 8601. */
  at: string;
  pid: number;
  label: string;
  rssBytes: number;
  pssBytes: number | null;
  anonBytes: number | null;
  fileBytes: number | null;
  shmemBytes: number | null;
  swapBytes: number | null;
  privateDirtyBytes: number | null;
  sharedCleanBytes: number | null;
  vmSizeBytes: number | null;
  vmHwmBytes: number | null;
  threads: number | null;
}

/** /proc/PID of a process that exists but may not be read (another user's, or ptrace-protected). */
export class ProcfsAccessError extends AlloclabError {
  constructor(readonly pid: number, readonly file: string) {
    super(`Permission denied reading ${file}: process ${pid} belongs to another user (or is protected by ptrace rules). Run VS Code as that user, or as root, to snapshot it.`, 'environment');
  }
}

/** The process is gone (exited while paused, or killed). */
export class ProcessGoneError extends AlloclabError {
  constructor(readonly pid: number) {
    super(`Process ${pid} has exited; there is nothing to snapshot. Start the debug session again.`, 'failure');
  }
}

function readProcFile(pid: number, name: string): string {
  const file = procPath(pid, name);
  try {
    return readProcText(pid, name);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw new ProcfsAccessError(pid, file);
    if (code === 'ENOENT' || code === 'ESRCH') throw new ProcessGoneError(pid);
    throw e;
  }
}

function kbFields(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^([\w()]+):\s+(\d+)(?: kB)?$/gm)) out.set(m[1], Number(m[2]));
  return out;
}

/** Reads the memory breakdown of a process; throws ProcfsAccessError (EACCES) or ProcessGoneError. */
export function readMemorySnapshot(pid: number, label = ''): MemorySnapshot {
  const rollup = kbFields(readProcFile(pid, 'smaps_rollup'));
  const status = kbFields(readProcFile(pid, 'status'));
  // A zombie (exited, not yet reaped by the paused debugger) still has a status but an empty rollup.
  if (!status.has('VmRSS')) throw new ProcessGoneError(pid);
  const kb = (m: Map<string, number>, k: string) => (m.has(k) ? m.get(k)! * 1024 : null);
  return {
    at: new Date().toISOString(), pid, label,
    rssBytes: kb(rollup, 'Rss') ?? kb(status, 'VmRSS') ?? 0,
    pssBytes: kb(rollup, 'Pss'),
    anonBytes: kb(status, 'RssAnon'),
    fileBytes: kb(status, 'RssFile'),
    shmemBytes: kb(status, 'RssShmem'),
    swapBytes: kb(rollup, 'Swap'),
    privateDirtyBytes: kb(rollup, 'Private_Dirty'),
    sharedCleanBytes: kb(rollup, 'Shared_Clean'),
    vmSizeBytes: kb(status, 'VmSize'),
    vmHwmBytes: kb(status, 'VmHWM'),
    threads: status.get('Threads') ?? null,
  };
}

const SNAPSHOT_FIELDS: [keyof MemorySnapshot, string][] = [
  ['rssBytes', 'RSS'], ['anonBytes', 'RSS anon'], ['fileBytes', 'RSS file'], ['shmemBytes', 'RSS shmem'],
  ['pssBytes', 'PSS'], ['privateDirtyBytes', 'Private dirty'], ['sharedCleanBytes', 'Shared clean'],
  ['swapBytes', 'Swap'], ['vmSizeBytes', 'Virtual size'], ['vmHwmBytes', 'Peak RSS (VmHWM)'],
];

export interface SnapshotDiffRow {
  field: string;
  before: number | null;
  after: number | null;
  delta: number | null;
}

/** Field by field difference of two snapshots (after minus before), bytes. */
export function diffSnapshots(before: MemorySnapshot, after: MemorySnapshot): SnapshotDiffRow[] {
  return SNAPSHOT_FIELDS.map(([k, field]) => {
    const a = before[k] as number | null;
    const b = after[k] as number | null;
    return { field, before: a, after: b, delta: a === null || b === null ? null : b - a };
  });
}

/** Parses snapshots.ndjson, skipping a torn last line (the file is appended while the session runs). */
export function parseSnapshots(text: string): MemorySnapshot[] {
  return parseNdjson<MemorySnapshot>(text);
}

export const SNAPSHOTS_FILE = 'snapshots.ndjson';
