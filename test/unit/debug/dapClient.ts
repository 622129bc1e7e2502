// A minimal Debug Adapter Protocol client for tests: spawns a real adapter (lldb-vscode-16 here), sends
// requests, collects events. Enough to check what the adapter does with the launch arguments we generate.
import { spawn, type ChildProcess } from 'node:child_process';

export interface DapMessage {
  seq: number;
  type: 'request' | 'response' | 'event';
  command?: string;
  event?: string;
  success?: boolean;
  message?: string;
  request_seq?: number;
  body?: Record<string, unknown>;
}

export class DapClient {
  readonly proc: ChildProcess;
  readonly events: DapMessage[] = [];
  private buf = Buffer.alloc(0);
  private seq = 1;
  private readonly pending = new Map<number, (m: DapMessage) => void>();
  private readonly waiters: { pred: (m: DapMessage) => boolean; resolve: (m: DapMessage) => void }[] = [];

  constructor(adapter: string) {
    this.proc = spawn(adapter, [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.proc.stdout!.on('data', (d: Buffer) => this.onData(d));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const head = this.buf.indexOf('\r\n\r\n');
      if (head < 0) return;
      const len = Number(/Content-Length: (\d+)/i.exec(this.buf.subarray(0, head).toString())?.[1]);
      if (this.buf.length < head + 4 + len) return;
      const msg = JSON.parse(this.buf.subarray(head + 4, head + 4 + len).toString()) as DapMessage;
      this.buf = this.buf.subarray(head + 4 + len);
      if (msg.type === 'response') this.pending.get(msg.request_seq!)?.(msg);
      if (msg.type === 'event') {
        this.events.push(msg);
        for (const w of [...this.waiters]) {
          if (w.pred(msg)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(msg);
          }
        }
      }
    }
  }

  request(command: string, args: unknown = {}): Promise<DapMessage> {
    const seq = this.seq++;
    const body = JSON.stringify({ seq, type: 'request', command, arguments: args });
    this.proc.stdin!.write(`Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    return new Promise((resolve) => this.pending.set(seq, resolve));
  }

  /** Resolves with the first event (already received or future) that matches. */
  waitEvent(pred: (m: DapMessage) => boolean, ms = 15_000): Promise<DapMessage> {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching DAP event within ${ms} ms; got ${this.events.map((e) => e.event).join(', ')}`)), ms);
      this.waiters.push({ pred, resolve: (m) => { clearTimeout(timer); resolve(m); } });
    });
  }

  output(): string {
    return this.events.filter((e) => e.event === 'output').map((e) => String(e.body?.output ?? '')).join('');
  }

  kill(): void {
    try {
      process.kill(-this.proc.pid!, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
}
