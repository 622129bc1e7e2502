// The sampler tests' target: native/samplertest, started in its own process group and always killed.
import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { nativeProgram, repoRoot } from '../support/paths';

let built = false;

/** Path of native/build/samplertest, built on first use (make is a no-op when it is up to date). */
export function samplertest(): string {
  if (!built) {
    execFileSync('make', ['-s', '-C', path.join(repoRoot, 'native', 'samplertest')], { stdio: 'inherit' });
    built = true;
  }
  return nativeProgram('samplertest');
}

/** A running samplertest; lines() yields what it prints. */
export class Target {
  readonly proc: ChildProcessByStdio<Writable, Readable, null>;
  readonly exited: Promise<void>;
  private buffered = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;

  /** `program` defaults to samplertest itself (a symlink to it gives the process another name). */
  constructor(args: string[], program = samplertest()) {
    this.proc = spawn(program, args, { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    this.exited = new Promise((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk: string) => {
      this.buffered += chunk;
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        this.lines.push(this.buffered.slice(0, nl));
        this.buffered = this.buffered.slice(nl + 1);
      }
      this.waiter?.();
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** The next line the target prints (fails after `timeoutMs`). */
  async nextLine(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error('samplertest printed nothing');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 100);
      });
    }
    return this.lines.shift()!;
  }

  send(line: string): void {
    this.proc.stdin.write(line + '\n');
  }

  /** Kills the whole process group (also a forked child). */
  kill(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
