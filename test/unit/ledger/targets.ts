// Test programs started under the probe (and an allocator), for the ledger's tests: fresh probe files on tmpfs,
// every process group killed at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after } from 'node:test';
import { probeEnvironment } from '../../../src/core/ledger';

export const LIB = '/usr/lib/x86_64-linux-gnu';
export const JEMALLOC = `${LIB}/libjemalloc.so.2`;
export const TCMALLOC = `${LIB}/libtcmalloc_minimal.so.4`;
export const MIMALLOC = `${LIB}/libmimalloc.so.2`;

const shmRoot = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'alloclab-ledger-test-'));
const running = new Set<ChildProcess>();
after(() => {
  for (const c of running) killGroup(c);
  fs.rmSync(shmRoot, { recursive: true, force: true });
});

let seq = 0;
export function freshShm(): string {
  return path.join(shmRoot, `t${seq++}.probe`);
}

export function killGroup(c: ChildProcess): void {
  try {
    if (c.pid) process.kill(-c.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  running.delete(c);
}

export interface Target {
  child: ChildProcess;
  pid: number;
  lines: string[];
  shm: string;
  /** Resolves when the program printed `line` (already printed: at once). */
  waitLine(line: string, ms?: number): Promise<void>;
}

/** Starts `program args` (with the probe unless `probe` is false), resolves once it printed "ready". */
export async function startTarget(program: string, args: string[], opts: { preload?: string | null; env?: Record<string, string>; probe?: boolean } = {}): Promise<Target> {
  const shm = freshShm();
  const extra = opts.probe === false ? (opts.preload ? { LD_PRELOAD: opts.preload } : {}) : probeEnvironment(shm, opts.preload ? { LD_PRELOAD: opts.preload } : {});
  const child = spawn(program, args, { env: { ...process.env, ...opts.env, ...extra }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) {
      if (lines.includes(w.line)) w.resolve();
      else waiters.push(w);
    }
  });
  const waitLine = (line: string, ms = 15_000) => new Promise<void>((resolve, reject) => {
    if (lines.includes(line)) return resolve();
    const timer = setTimeout(() => reject(new Error(`${program} ${args.join(' ')}: no "${line}" within ${ms / 1000} s; stderr: ${stderr}`)), ms);
    const onExit = (code: number | null, signal: string | null) => reject(new Error(`${program} exited (${code ?? signal}) before "${line}"; stderr: ${stderr}`));
    child.once('exit', onExit);
    waiters.push({ line, resolve: () => { clearTimeout(timer); child.off('exit', onExit); resolve(); } });
  });
  await waitLine('ready');
  return { child, pid: child.pid!, lines, shm, waitLine };
}

export async function waitFor<T>(what: string, get: () => T | null | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
