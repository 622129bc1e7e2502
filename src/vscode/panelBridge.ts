// The run panel as the rest of the extension uses it. The panel itself (webview host) lives in ./panel; this
// file is the one place that knows its API, so the commands and run sessions do not.
import * as vscode from 'vscode';
import type { RunEvent, RunRecord, Sample } from '../core/model';
import { RunPanels } from './panel/runPanels';

export interface RunViewer {
  showRun(runDir: string): void | Promise<void>;
  beginLive(runDir: string, record: RunRecord): void;
  pushSamples(runDir: string, index: number, samples: Sample[]): void;
  pushEvent(runDir: string, index: number, event: RunEvent): void;
  updateRecord(runDir: string, record: RunRecord): void;
  /** Reveals the panel of the live run, if there is one. */
  revealLive(): void;
}

/** Creates the viewer (the run panels) for the lifetime of `context`. */
export function createRunViewer(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): RunViewer {
  return RunPanels.register(context, { info: (m) => log.info(m), warn: (m) => log.warn(m) });
}
