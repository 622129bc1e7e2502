// The run panel as the rest of the extension uses it. The panel itself (webview host) lives in ./panel; this
// file is the one place that knows its API, so the commands and run sessions do not.
import * as vscode from 'vscode';
import { RunPanels } from './panel/runPanels';
import type { RunViewer } from './panel/viewer';

export type { RunViewer } from './panel/viewer';

/** Creates the viewer (the run panels) for the lifetime of `context`. */
export function createRunViewer(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): RunViewer {
  return RunPanels.register(context, { info: (m) => log.info(m), warn: (m) => log.warn(m) });
}
