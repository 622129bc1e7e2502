import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { renderHtmlReport, writeHtmlReport } from '../../../src/core/report/html';
import { isRunSnapshot } from '../../../src/protocol/webview';
import { makeNonce, panelHtml } from '../../../src/vscode/panel/panelHtml';
import { repoRoot } from '../support/paths';
import { fixtureRun } from './fixture';

const tmp = mkdtempSync(path.join(tmpdir(), 'alloclab-report-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('the report embeds the run as JSON that reads back exactly, even with markup in the data', () => {
  const run = fixtureRun(200);
  run.record.name = 'evil </script><script>alert(1)</script> <!-- name';
  run.environments[0].record.label = '</SCRIPT><img src=x onerror=alert(1)>';
  const file = path.join(tmp, 'sub', 'report.html');
  writeHtmlReport(run, file);
  const html = readFileSync(file, 'utf8');
  const m = /<script type="application\/json" id="alloclab-data">([\s\S]*?)<\/script>/.exec(html);
  assert.ok(m, 'no data script');
  assert.ok(!/<\/script|<!--/i.test(m[1]), 'the data can close its script element');
  const data = JSON.parse(m[1]) as unknown;
  assert.ok(isRunSnapshot(data));
  assert.deepEqual(data.record, JSON.parse(JSON.stringify(run.record)));
  assert.equal(data.environments[1].samples.length, run.environments[1].samples.length);
  // Exactly the two script elements of the page; the title is escaped text.
  assert.equal((html.match(/<script\b/gi) ?? []).length, 2);
  assert.match(html, /<title>evil &#60;\/script&#62;/);
});

test('the report is self-contained: bundle and styles inlined, script allowed by nonce only', () => {
  const html = renderHtmlReport(fixtureRun(500));
  const bundle = readFileSync(path.join(repoRoot, 'dist', 'webview.js'), 'utf8');
  assert.ok(bundle.length > 10_000);
  assert.ok(html.length > bundle.length, 'bundle not inlined');
  assert.ok(!/<(script|link)[^>]+(src|href)=/i.test(html), 'the report loads an external file');
  assert.ok(html.includes('.legend-item'), 'webview css not inlined');
  const nonce = /script-src 'nonce-([^']+)'/.exec(html)?.[1];
  assert.ok(nonce);
  assert.ok(html.includes(`<script nonce="${nonce}">`));
  assert.ok(html.includes('--vscode-foreground:'), 'theme defaults missing');
  assert.equal(renderHtmlReport(fixtureRun(500)).includes(nonce), false, 'nonce reused');
});

test('the panel page has a strict CSP and no data in it', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[\w-]{20,}$/);
  assert.notEqual(makeNonce(), nonce);
  const html = panelHtml({
    cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
    scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
    styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.css',
    nonce, title: 'Run: <demo>',
  });
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'(;|$)`));
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
  assert.ok(html.includes(`<script nonce="${nonce}" src="https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js">`));
  assert.ok(html.includes('<title>Run: &#60;demo&#62;</title>'));
  assert.ok(!html.includes('alloclab-data'));
});
