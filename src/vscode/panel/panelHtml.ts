// The webview page of the run panel. Kept free of the vscode runtime (plain strings in, string out) so the unit
// tests and the Chromium check can build the exact page VS Code gets, CSP included.
import { randomBytes } from 'node:crypto';

export interface PanelHtmlInput {
  /** webview.cspSource */
  cspSource: string;
  /** webview.asWebviewUri(dist/webview.js) and (dist/webview.css), as strings. */
  scriptUri: string;
  styleUri: string;
  nonce: string;
  title: string;
}

/** A fresh random nonce for one page load (base64url, 128 bits). */
export function makeNonce(): string {
  return randomBytes(16).toString('base64url');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The panel page: a strict CSP (scripts only with the nonce, styles and images only from the extension's dist/),
 * no data in the page: the run arrives by postMessage once the script says it is ready.
 */
export function panelHtml(input: PanelHtmlInput): string {
  const { cspSource, nonce } = input;
  const csp = [
    "default-src 'none'",
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource} data: blob:`,
    `font-src ${cspSource}`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp.replace(/"/g, "")}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${escapeHtml(input.styleUri)}" nonce="${nonce}">
<title>${escapeHtml(input.title)}</title>
</head>
<body>
<script nonce="${nonce}" src="${escapeHtml(input.scriptUri)}"></script>
</body>
</html>
`;
}
