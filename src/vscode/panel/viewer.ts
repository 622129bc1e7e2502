// What the rest of the extension may do with the run panels (run sessions, debug sessions, commands).
import type { RunEvent, RunRecord, Sample } from '../../core/model';

/** The run panels as commands and sessions see them. */
export interface RunViewer {
  showRun(runDir: string): void | Promise<void>;
  beginLive(runDir: string, record: RunRecord): void;
  pushSamples(runDir: string, index: number, samples: Sample[]): void;
  pushEvent(runDir: string, index: number, event: RunEvent): void;
  updateRecord(runDir: string, record: RunRecord): void;
  /** Reveals the panel of the live run, if there is one. */
  revealLive(): void;
}
