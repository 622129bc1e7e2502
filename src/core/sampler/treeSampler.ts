// One Sample of a process and its descendants, with the expensive figures read at their own lower rates.
// Used by the worker loop (many readings) and by sampleOnce (one full reading).
import type { Sample } from '../model';
import { clockTicks, isDeadState, ProcessReader, ProcessTreeScanner } from '../os/proc';

export interface TreeSamplerOptions {
  pid: number;
  includeChildren: boolean;
  /** CPU time and threads (/proc/PID/stat): 0 reads them on every reading. Their clock ticks are 10 ms anyway. */
  cpuEveryMs: number;
  /** 0 reads /proc/PID/status on every reading; Infinity never. */
  statusEveryMs: number;
  /** 0 reads smaps_rollup on every reading; Infinity never. */
  pssEveryMs: number;
  rescanEveryMs: number;
}

function nextDue(due: number, every: number, now: number): number {
  const next = due + every;
  return next > now ? next : now + every;
}

/** Reads a process tree repeatedly, keeping the files of every member open between readings. */
export class TreeSampler {
  private readonly readers = new Map<number, ProcessReader>();
  private readonly scanner = new ProcessTreeScanner();
  private readonly msPerTick = 1000 / clockTicks();
  private started = false;
  private ended = false;
  private scanDue = 0;
  private cpuDue = 0;
  private statusDue: number;
  private pssDue: number;
  private cpuFloorMs = 0;
  /** Milliseconds spent in smaps_rollup reads, and how many: the one figure whose cost grows with the target. */
  pssReads = 0;
  pssMs = 0;

  constructor(private readonly opts: TreeSamplerOptions) {
    this.statusDue = Number.isFinite(opts.statusEveryMs) ? 0 : Infinity;
    this.pssDue = Number.isFinite(opts.pssEveryMs) ? 0 : Infinity;
  }

  /**
   * Reads the tree. `t` goes into the sample (rounded to microseconds); `nowMs` (any monotonic clock) decides which lower-rate
   * figures are due. Returns null once the root process is gone (or a zombie).
   */
  read(t: number, nowMs: number): Sample | null {
    if (this.ended) return null;
    if (!this.started) {
      this.started = true;
      const root = ProcessReader.open(this.opts.pid);
      if (!root) return this.end();
      this.readers.set(this.opts.pid, root);
      if (this.opts.includeChildren) this.rescan(nowMs);
    }

    // RSS first, so it is read as close to `t` as possible. A failed read means the process ended.
    let rss = 0;
    for (const [pid, reader] of this.readers) {
      const r = reader.rssBytes();
      if (r === null) {
        if (pid === this.opts.pid) return this.end();
        this.drop(pid);
        continue;
      }
      rss += r;
    }
    const sample: Sample = { t: Math.round(t * 1000) / 1000, rssBytes: rss };

    // Every wake-up of the sampling thread is paid in cache misses, so each syscall saved per reading counts:
    // stat is read at its own, lower rate.
    if (nowMs >= this.cpuDue) {
      this.cpuDue = nextDue(this.cpuDue, this.opts.cpuEveryMs, nowMs);
      let cpuTicks = 0;
      let threads = 0;
      for (const [pid, reader] of this.readers) {
        const s = reader.stat();
        if (s === null || isDeadState(s.state)) {
          if (pid === this.opts.pid) return this.end();
          this.drop(pid);
          continue;
        }
        cpuTicks += s.utime + s.stime + s.cutime + s.cstime;
        threads += s.threads;
      }
      // A child that ended but is not yet reaped leaves the sum until its parent's cutime takes it in: hold the line.
      this.cpuFloorMs = Math.max(this.cpuFloorMs, Math.round(cpuTicks * this.msPerTick));
      sample.cpuMs = this.cpuFloorMs;
      sample.threads = threads;
    }
    sample.processes = this.readers.size;

    if (nowMs >= this.statusDue) {
      this.statusDue = nextDue(this.statusDue, this.opts.statusEveryMs, nowMs);
      let anon = 0, file = 0, shmem = 0, any = false;
      for (const reader of this.readers.values()) {
        const s = reader.status();
        if (!s) continue;
        any = true;
        anon += s.anonBytes;
        file += s.fileBytes;
        shmem += s.shmemBytes;
      }
      if (any) Object.assign(sample, { anonBytes: anon, fileBytes: file, shmemBytes: shmem });
    }
    if (nowMs >= this.pssDue) {
      this.pssDue = nextDue(this.pssDue, this.opts.pssEveryMs, nowMs);
      const t0 = performance.now();
      let pss = 0, any = false;
      for (const reader of this.readers.values()) {
        const p = reader.pssBytes();
        if (p === null) continue;
        any = true;
        pss += p;
      }
      this.pssMs += performance.now() - t0;
      this.pssReads++;
      if (any) sample.pssBytes = pss;
    }
    // Re-scanning after the reading: new children count from the next reading on, and `t` stays exact.
    if (this.opts.includeChildren && nowMs >= this.scanDue) this.rescan(nowMs);
    return sample;
  }

  /** Closes every file. */
  close(): void {
    for (const reader of this.readers.values()) reader.close();
    this.readers.clear();
  }

  private end(): null {
    this.ended = true;
    this.close();
    return null;
  }

  private drop(pid: number): void {
    this.readers.get(pid)?.close();
    this.readers.delete(pid);
    this.scanner.forget(pid);
  }

  private rescan(nowMs: number): void {
    this.scanDue = nextDue(this.scanDue, this.opts.rescanEveryMs, nowMs);
    const pids = this.scanner.tree(this.opts.pid);
    if (pids.length === 0) return; // the root is gone: the next reading notices through its own files
    const inTree = new Set(pids);
    for (const pid of this.readers.keys()) if (!inTree.has(pid)) this.drop(pid);
    for (const pid of pids) {
      if (this.readers.has(pid)) continue;
      const reader = ProcessReader.open(pid);
      if (reader) this.readers.set(pid, reader);
    }
  }
}
