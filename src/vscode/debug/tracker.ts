// Learns each native debug session's debuggee from the Debug Adapter Protocol traffic and starts its live memory
// recording. The PID comes from the adapter's `process` event (systemProcessId) when it sends one; otherwise from
// an attach configuration's processId, else from procfs: a process traced by a debugger below the extension host
// (which spawns the adapters). A session whose PID cannot be found is told once and otherwise left alone.
import * as vscode from 'vscode';
import { findDebuggeePid } from '../../core/debug';
import { DebugRun, type DebugRunDeps } from './debugRun';

/** Debug types whose debuggee is a native process. */
export const TRACKED_DEBUG_TYPES = ['cppdbg', 'lldb', 'gdb', 'lldb-dap', 'lldb-vscode', 'alloclab-lldb'] as const;

/** How long after launch a session without PID is searched for before the user is told. */
const PID_SEARCH_MS = 5000;

interface DapMessage {
  type?: string;
  event?: string;
  command?: string;
  success?: boolean;
  body?: Record<string, unknown>;
}

export class DebugSessions implements vscode.Disposable {
  private readonly runs = new Map<string, DebugRun>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: Omit<DebugRunDeps, 'onEnded'>, private readonly enabled: () => boolean) {
    const factory: vscode.DebugAdapterTrackerFactory = { createDebugAdapterTracker: (s) => this.track(s) };
    for (const type of TRACKED_DEBUG_TYPES) this.disposables.push(vscode.debug.registerDebugAdapterTrackerFactory(type, factory));
    this.disposables.push(vscode.debug.onDidTerminateDebugSession((s) => void this.runs.get(s.id)?.stop()));
  }

  /** The recording of a session (the active one by default). */
  runOf(session: vscode.DebugSession | undefined = vscode.debug.activeDebugSession): DebugRun | undefined {
    return session ? this.runs.get(session.id) : undefined;
  }

  all(): DebugRun[] {
    return [...this.runs.values()];
  }

  private claimedPids(): number[] {
    return this.all().map((r) => r.pid).filter((p): p is number => p !== null);
  }

  private track(session: vscode.DebugSession): vscode.DebugAdapterTracker | undefined {
    if (!this.enabled() || process.platform !== 'linux') return undefined;
    const run = new DebugRun(session, { ...this.deps, onEnded: () => this.forget(session.id, run) });
    this.runs.set(session.id, run);
    let searchTimer: NodeJS.Timeout | undefined;
    let launchedAt = 0;
    const search = (): boolean => {
      if (run.pid !== null || run.ended) return true;
      const pid = findDebuggeePid(process.pid, { tracedOnly: true, exclude: this.claimedPids() });
      if (pid !== null) void run.attach(pid, 'procfs');
      return pid !== null;
    };
    const schedule = () => {
      if (searchTimer || run.pid !== null) return;
      launchedAt = Date.now();
      searchTimer = setInterval(() => {
        if (search()) {
          clearInterval(searchTimer);
        } else if (Date.now() - launchedAt > PID_SEARCH_MS) {
          clearInterval(searchTimer);
          this.deps.log.warn(`[debug ${session.name}] no debuggee PID: the ${session.type} adapter sent no process event and no traced process was found`);
          void vscode.window.showInformationMessage(`Allocator Lab cannot show live memory for debug session "${session.name}": its ${session.type} adapter did not report the program's PID and none was found in /proc. Debugging is not affected; to record memory, use "Allocator Lab: Watch Process…" with the PID.`);
        }
      }, 500);
    };
    return {
      onDidSendMessage: (m: DapMessage) => {
        if (m.type === 'event') {
          switch (m.event) {
            case 'process': {
              const pid = Number(m.body?.systemProcessId);
              if (Number.isInteger(pid) && pid > 0) void run.attach(pid, 'process event');
              break;
            }
            case 'stopped':
              if (run.pid === null) search();
              run.onStopped(m.body as { reason?: string; description?: string; threadId?: number });
              break;
            case 'continued':
              run.onContinued();
              break;
          }
        } else if (m.type === 'response' && (m.command === 'launch' || m.command === 'attach') && m.success) {
          const attachPid = Number(session.configuration.processId ?? session.configuration.pid);
          if (m.command === 'attach' && Number.isInteger(attachPid) && attachPid > 0) void run.attach(attachPid, 'attach configuration');
          else schedule();
        }
      },
      onWillReceiveMessage: (m: DapMessage) => {
        // Stepping or continuing: the program runs again (not every adapter sends `continued`).
        if (m.type === 'request' && ['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue'].includes(m.command ?? '')) run.onContinued();
      },
      onExit: () => {
        clearInterval(searchTimer);
        void run.stop();
      },
      onError: (e) => this.deps.log.warn(`[debug ${session.name}] adapter error: ${e.message}`),
    };
  }

  private forget(id: string, run: DebugRun): void {
    if (this.runs.get(id) === run) this.runs.delete(id);
  }

  dispose(): void {
    for (const r of this.runs.values()) void r.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
