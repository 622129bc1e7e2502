// The standalone HTML report: the panel's own bundle (dist/webview.js and .css) inlined into one file with the run
// embedded as JSON, so it opens from disk in any browser, with no server and no network, and looks like the panel.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AlloclabError } from '../errors';
import type { StoredRun } from '../runs/store';
import type { RunSnapshot } from '../model';
import { packageRoot } from '../workers';

// The panel reads these from VS Code; a report has no VS Code, so it gets a light theme's values.
const LIGHT_THEME = `
:root, body {
  --vscode-foreground: #3b3b3b;
  --vscode-editor-background: #ffffff;
  --vscode-font-family: system-ui, -apple-system, "Segoe UI", Ubuntu, sans-serif;
  --vscode-font-size: 13px;
  --vscode-editor-font-family: ui-monospace, "DejaVu Sans Mono", monospace;
  --vscode-editorWidget-border: #c8c8c8;
  --vscode-errorForeground: #e51400;
  --vscode-editorWarning-foreground: #bf8803;
  --vscode-textLink-foreground: #006ab1;
  --vscode-focusBorder: #0078d4;
  --vscode-button-secondaryForeground: #3b3b3b;
  --vscode-button-secondaryBackground: #e5e5e5;
  --vscode-button-secondaryHoverBackground: #cccccc;
  --vscode-charts-blue: #1a85ff;
  --vscode-charts-orange: #d18616;
  --vscode-charts-green: #388a34;
  --vscode-charts-purple: #652d90;
  --vscode-charts-red: #e51400;
  --vscode-charts-yellow: #bf8803;
}`;

function bundleFile(name: string): string {
  const file = path.join(packageRoot(), 'dist', name);
  try {
    // The source map is not shipped with the report; a dangling link would only make devtools complain.
    return readFileSync(file, 'utf8').replace(/^\/[/*]# sourceMappingURL=.*$/gm, '');
  } catch {
    throw new AlloclabError(`The report needs ${file}, which is missing: run \`npm run build\` in ${packageRoot()}.`, 'environment');
  }
}

/** Text placed inside a <script> or <style> element: nothing in it may close the element or open a comment. */
function rawText(text: string, tag: 'script' | 'style'): string {
  return text.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1').replace(/<!--/g, '<\\!--');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The report page for `run` as one HTML string (see writeHtmlReport). */
export function renderHtmlReport(run: StoredRun | RunSnapshot): string {
  const snapshot: RunSnapshot = { dir: run.dir, live: false, record: run.record, environments: run.environments };
  // JSON inside a script element: escaping every "<" keeps "</script>" and "<!--" out, and JSON.parse reads it back.
  const data = JSON.stringify(snapshot).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    "style-src 'unsafe-inline'",
    'img-src data: blob:',
    // Nothing in the page may redirect relative URLs or submit anywhere: the report runs with no network.
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="Allocator Lab">
<title>${escapeHtml(`${run.record.name} - Allocator Lab report`)}</title>
<style>${rawText(LIGHT_THEME, 'style')}</style>
<style>${rawText(bundleFile('webview.css'), 'style')}</style>
</head>
<body class="vscode-light alloclab-report">
<script type="application/json" id="alloclab-data">${data}</script>
<script nonce="${nonce}">${rawText(bundleFile('webview.js'), 'script')}</script>
</body>
</html>
`;
}

/** Writes one self-contained HTML file showing `run` (chart, metrics table, verdict, exports). */
export function writeHtmlReport(run: StoredRun, outFile: string): void {
  const html = renderHtmlReport(run);
  try {
    mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
    writeFileSync(outFile, html);
  } catch (e) {
    throw new AlloclabError(`Cannot write the report ${outFile}: ${(e as Error).message}. Pick another path for --report.`, 'environment');
  }
}
