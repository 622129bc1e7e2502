// Ctrl-C, SIGTERM and SIGHUP mean the same for every command that starts processes: the first stops cleanly
// and keeps what was recorded, a second kills everything at once (drivers that ignore signals included).
import { killAllTargets } from '../core/launch';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs `work` with an abort signal that the first SIGINT/SIGTERM/SIGHUP fires; a second one SIGKILLs every process started and exits 130. */
export async function withStopSignals<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    // After a hang-up the terminal is gone: a failed write must not turn a clean stop into a crash.
    process.stderr.on('error', () => undefined);
    if (interrupts === 1) {
      process.stderr.write('\nStopping (the run so far is kept). Press Ctrl-C again to kill at once.\n');
      controller.abort();
    } else {
      killAllTargets();
      process.exit(130);
    }
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  try {
    return await work(controller.signal);
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
  }
}
