#!/usr/bin/env node
// A real VS Code for the tests: code-server (VS Code 1.100 workbench + Node extension host) from npm, installed
// under test/vscode-host/, driven by Playwright through Debian's Chromium.
//
//   node scripts/vscode-host.mjs install   install code-server once (idempotent, works offline once cached)
//   node scripts/vscode-host.mjs test      build, package the .vsix, then run in three VS Code instances (the UI
//                                          checks of 2 and 3 are in test/ui/workbench.mjs):
//                                          1. the integration suite (mocha in the extension host)
//                                          2. UI checks on the installed .vsix: palette -> Run Scenario -> panel
//                                          3. UI check of an untrusted workspace
//                                          and print `vscode: N passed, N failed, N skipped` (exit 1 on any failure)
//   node scripts/vscode-host.mjs serve     start one instance on the repo's extension and print its URL
//
// Facts this relies on are in /work/shared/notes/vscode-test-host.md (why code-server, the URL payload, the
// ripgrep tarball, the npm settings its postinstall needs).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { uiSuite, untrustedSuite } from '../test/ui/workbench.mjs';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// Screenshots of the UI checks: into docs/ only when asked (ALLOCLAB_UPDATE_DOCS=1), so a test run leaves the tree clean.
const shotsDir = process.env.ALLOCLAB_UPDATE_DOCS === '1' ? join(repo, 'docs') : join(tmpdir(), 'alloclab-vscode-shots');
const hostDir = join(repo, 'test', 'vscode-host');
const CODE_SERVER_VERSION = '4.100.3';
const entry = join(hostDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const RG_CACHE = join(tmpdir(), 'vscode-ripgrep-cache-1.15.11', 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const keep = process.env.ALLOCLAB_KEEP_TMP === '1';

const log = (...a) => console.error('[vscode-host]', ...a);
// What the closed network and the workbench say on every start; not about us.
const NOISE = /open-vsx|getaddrinfo|connection token|Creating a socket|Service Worker|ChatSession|builtin extensions cache|lifecycle|^\s*$/;

function installed() {
  try {
    return JSON.parse(readFileSync(join(hostDir, 'node_modules', 'code-server', 'package.json'), 'utf8')).version === CODE_SERVER_VERSION && existsSync(entry);
  } catch {
    return false;
  }
}

/** Installs code-server under test/vscode-host (skipped when already there). */
export function install() {
  if (installed()) {
    log(`code-server ${CODE_SERVER_VERSION} already installed`);
    return;
  }
  // @vscode/ripgrep downloads rg from GitHub in its postinstall unless this tarball is in its cache: give it
  // Debian's rg so the install works with only the npm registry reachable.
  if (!existsSync(RG_CACHE)) {
    const rg = ['/usr/bin/rg', '/usr/local/bin/rg'].find(existsSync);
    if (!rg) throw new Error('ripgrep is missing: apt-get install ripgrep (code-server\'s install needs it offline)');
    const stage = mkdtempSync(join(tmpdir(), 'alloclab-rg-'));
    execFileSync('cp', [rg, join(stage, 'rg')]);
    mkdirSync(dirname(RG_CACHE), { recursive: true });
    execFileSync('tar', ['-czf', RG_CACHE, '-C', stage, 'rg']);
    rmSync(stage, { recursive: true, force: true });
  }
  const started = Date.now();
  // allowScripts in test/vscode-host/package.json approves the postinstall scripts (npm 11); yes=true lets
  // node-pty's `npx node-gyp` run without a prompt; unsafe-perm for older npm run as root.
  const env = { ...process.env, npm_config_yes: 'true', npm_config_unsafe_perm: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };
  const args = existsSync(join(hostDir, 'package-lock.json')) ? ['ci'] : ['install'];
  log(`npm ${args.join(' ')} in ${hostDir} (about a minute)…`);
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd: hostDir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !installed()) throw new Error(`code-server install failed (npm exit ${r.status}); needs apt packages chromium libkrb5-dev pkg-config ripgrep`);
  log(`code-server installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Processes whose working directory is `dir` (targets of a scenario in that folder run there). */
function processesIn(dir) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readlinkSync(`/proc/${name}/cwd`) === dir) out.push(Number(name));
    } catch {
      // Gone or not ours to read.
    }
  }
  return out;
}

async function waitForValue(what, ms, f) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resolves with `value` after ms without keeping the process alive (races against a test's end). */
function after(ms, value) {
  return new Promise((r) => setTimeout(() => r(value), ms).unref());
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

const live = new Set();
function killAll() {
  for (const p of live) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // Gone.
    }
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Starts code-server in its own process group; resolves when /healthz answers. */
async function startCodeServer({ trusted = true, extensionsDir, env = {} } = {}) {
  const root = mkdtempSync(join(tmpdir(), 'alloclab-code-'));
  const userData = join(root, 'user-data');
  mkdirSync(join(userData, 'User'), { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify({
    'telemetry.telemetryLevel': 'off', 'workbench.startupEditor': 'none', 'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false, 'workbench.tips.enabled': false, 'security.workspace.trust.startupPrompt': 'always',
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
  }, null, 2));
  const configFile = join(root, 'config.yaml');
  writeFileSync(configFile, '');
  const extDir = extensionsDir ?? join(root, 'extensions');
  mkdirSync(extDir, { recursive: true });
  const port = await freePort();
  const args = [entry, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
    '--user-data-dir', userData, '--extensions-dir', extDir, '--config', configFile];
  if (trusted) args.push('--disable-workspace-trust');
  const child = spawn(process.execPath, args, {
    detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, XDG_CONFIG_HOME: join(root, 'xdg-config'), XDG_DATA_HOME: join(root, 'xdg-data'), ...env },
  });
  live.add(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited with ${child.exitCode}:\n${output.slice(-2000)}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > end) throw new Error(`code-server did not answer /healthz in 30 s:\n${output.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url, root, output: () => output,
    /** SIGTERM first: the extension host and our language server (same group) get to stop the targets they
     * started (they live in their own groups); SIGKILL what is left after a grace period. */
    async stop() {
      if (!live.has(child)) return;
      const exited = child.exitCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r));
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Gone.
      }
      await Promise.race([exited, after(5000)]);
      // The group may still hold children after the leader exited (a file watcher, the language server).
      await new Promise((r) => setTimeout(r, 300));
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Gone.
      }
      live.delete(child);
      if (!keep) rmSync(root, { recursive: true, force: true });
    },
  };
}

/** The workbench URL opening `folder`, with the development extension and test entry passed as the payload. */
function workbenchUrl(base, folder, { extensionDevelopmentPath, extensionTestsPath } = {}) {
  const payload = [];
  if (extensionDevelopmentPath) payload.push(['extensionDevelopmentPath', `vscode-remote://remote${extensionDevelopmentPath}`]);
  if (extensionTestsPath) payload.push(['extensionTestsPath', `vscode-remote://remote${extensionTestsPath}`]);
  let url = `${base}/?folder=${encodeURIComponent(folder)}`;
  if (payload.length) url += `&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  return url;
}

function makeWorkspace(label) {
  const ws = mkdtempSync(join(tmpdir(), `alloclab-ws-${label}-`));
  return ws;
}

/** The scenario the UI checks run: the demo service under load when built, else /bin/sleep with no load. */
function writeDemoScenario(ws) {
  const demo = join(repo, 'native', 'build', 'demo-controller');
  const scenario = existsSync(demo)
    ? {
      name: 'ui-demo',
      target: { command: demo, args: ['--port', '${port}', '--threads', '4', '--cache-mb', '16'], ready: { tcpPort: '${port}', timeout: '20s' } },
      environments: ['glibc', 'jemalloc'],
      sampling: { intervalMs: 50 },
      phases: [
        { name: 'load', kind: 'load', duration: '4s', load: { driver: 'http', method: 'POST', url: 'http://127.0.0.1:${port}/members', concurrency: 4, body: '{"member":"m{{counter}}","groups":["core"],"vlan":42}' } },
        { name: 'idle', kind: 'idle', duration: '1s' },
      ],
    }
    : {
      name: 'ui-demo',
      target: { command: '/bin/sleep', args: ['600'], ready: { delay: '100ms' } },
      environments: ['glibc', 'jemalloc'],
      sampling: { intervalMs: 50 },
      phases: [{ name: 'run', kind: 'load', duration: '4s' }],
    };
  writeFileSync(join(ws, 'ui-demo.alloclab.json'), JSON.stringify(scenario, null, 2));
}

async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

async function openWorkbench(browser, url, { onExit } = {}) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  if (onExit) {
    await page.exposeFunction('codeAutomationExit', (code) => onExit(code));
    await page.exposeFunction('codeAutomationLog', (type, args) => {
      const text = (Array.isArray(args) ? args : [args]).map(String).join(' ');
      if (!NOISE.test(text)) console.error(`[extension host] ${text}`);
    });
  }
  page.on('console', (m) => {
    if (process.env.ALLOCLAB_VSCODE_CONSOLE === '1') console.error('[workbench]', m.text());
  });
  await page.goto(url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  return page;
}

/** F1, type the command title, pick it; retried because the list is computed before activation finishes. */
async function runFromPalette(page, title) {
  const end = Date.now() + 30_000;
  for (;;) {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ timeout: 3000 });
      await page.keyboard.press('Enter');
      return;
    } catch {
      await page.keyboard.press('Escape');
      if (Date.now() > end) throw new Error(`command "${title}" never appeared in the palette`);
      await page.waitForTimeout(1000);
    }
  }
}

/** Picks the item of an open quick pick whose label has `text` (a command that asks before it starts). */
async function pickQuickItem(page, text) {
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first();
  await row.waitFor({ timeout: 15_000 });
  await row.click();
}

// ---- the suites -------------------------------------------------------------------------------------------

const results = [];
/** Tests the extension host skipped, each printed with its reason; a skip is not a failure. */
function recordSkips(suite, res) {
  for (const s of res.skipped ?? []) {
    results.push({ name: `${suite}: ${s.title}`, ok: true, skipped: s.reason });
    console.log(`skipped: ${suite}: ${s.title}: ${s.reason}`);
  }
}
function record(name, ok, detail = '') {
  results.push({ name, ok, detail });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ` -- ${detail}` : ''}`);
}
async function check(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    record(name, true, `${detail ?? ''}${detail ? ', ' : ''}${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    record(name, false, (e && e.stack) || String(e));
  }
}

async function integrationSuite(browser) {
  const ws = makeWorkspace('integration');
  const resultsFile = join(ws, '..', `alloclab-integration-${process.pid}.json`);
  rmSync(resultsFile, { force: true });
  const server = await startCodeServer({ env: { ALLOCLAB_TEST_RESULTS: resultsFile } });
  try {
    let exitCode;
    const exited = new Promise((r) => (exitCode = r));
    const page = await openWorkbench(browser, workbenchUrl(server.url, ws, {
      extensionDevelopmentPath: repo, extensionTestsPath: join(repo, 'dist', 'test', 'integration', 'index.js'),
    }), { onExit: (c) => exitCode(c) });
    const code = await Promise.race([exited, after(240_000, 'timeout')]);
    await page.close().catch(() => undefined);
    if (!existsSync(resultsFile)) {
      record('integration suite', false, `no results written (exit ${code}); code-server output:\n${server.output().slice(-3000)}`);
      return;
    }
    const res = JSON.parse(readFileSync(resultsFile, 'utf8'));
    for (let i = 0; i < res.passed; i++) results.push({ name: `integration #${i + 1}`, ok: true });
    for (const f of res.failures) record(`integration: ${f.title}`, false, f.error);
    recordSkips('integration', res);
    console.log(`integration (in the extension host): ${res.passed} passed, ${res.failed} failed, ${(res.skipped ?? []).length} skipped`);
  } finally {
    await server.stop();
    if (!keep) rmSync(ws, { recursive: true, force: true });
    rmSync(resultsFile, { force: true });
  }
}

/** Packages the extension with vsce (offline) and installs it into a fresh extensions folder. */
function packageAndInstall(extensionsDir) {
  const vsix = join(tmpdir(), `alloclab-${process.pid}.vsix`);
  const r = spawnSync('npx', ['vsce', 'package', '--no-dependencies', '--baseContentUrl', 'https://example.invalid/allocator-lab',
    '--baseImagesUrl', 'https://example.invalid/allocator-lab', '-o', vsix], { cwd: repo, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`vsce package failed:\n${r.stdout}\n${r.stderr}`);
  const i = spawnSync(process.execPath, [entry, '--extensions-dir', extensionsDir, '--install-extension', vsix], { encoding: 'utf8', env: { ...process.env, XDG_CONFIG_HOME: join(extensionsDir, '..', 'xdg'), XDG_DATA_HOME: join(extensionsDir, '..', 'xdg') } });
  if (i.status !== 0 || !/was successfully installed/.test(i.stdout + i.stderr)) throw new Error(`--install-extension failed:\n${i.stdout}\n${i.stderr}`);
  rmSync(vsix, { force: true });
  return vsix;
}

/** What the UI checks in test/ui/workbench.mjs use of this script. */
function uiHelpers() {
  return {
    check, record, results, recordSkips, startCodeServer, openWorkbench, workbenchUrl, makeWorkspace, writeDemoScenario,
    runFromPalette, pickQuickItem, packageAndInstall, processesIn, waitForValue, after, shotsDir, keep, repo,
  };
}

async function test() {
  install();
  const t0 = Date.now();
  const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: repo, stdio: 'inherit' });
  console.log(`[build took ${((Date.now() - t0) / 1000).toFixed(0)} s]`);
  if (!existsSync(join(repo, 'dist', 'extension.js')) || !existsSync(join(repo, 'dist', 'server.js'))) {
    throw new Error(`build failed (esbuild exit ${b.status})`);
  }
  mkdirSync(shotsDir, { recursive: true });
  const tb = Date.now();
  const browser = await launchBrowser();
  log(`browser launched in ${Date.now() - tb} ms`);
  try {
    const only = process.argv.slice(3);
    for (const [name, suite] of [['integration', integrationSuite], ['ui', uiSuite], ['untrusted', untrustedSuite]]) {
      if (only.length && !only.includes(name)) continue;
      const t0 = Date.now();
      await suite(browser, uiHelpers());
      console.log(`[${name} instance took ${((Date.now() - t0) / 1000).toFixed(0)} s]`);
    }
  } finally {
    const tc = Date.now();
    await browser.close();
    log(`browser closed in ${Date.now() - tc} ms`);
    killAll();
  }
  const skipped = results.filter((r) => r.skipped).length;
  const passed = results.filter((r) => r.ok && !r.skipped).length;
  const failed = results.filter((r) => !r.ok).length;
  console.log(`vscode: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exitCode = failed || !results.length ? 1 : 0;
}

async function serve() {
  install();
  const ws = process.argv[3] ? resolve(process.argv[3]) : makeWorkspace('serve');
  const server = await startCodeServer();
  console.log(workbenchUrl(server.url, ws, { extensionDevelopmentPath: repo }));
  console.log('Ctrl-C to stop');
  await new Promise(() => undefined);
}

const cmd = process.argv[2] ?? 'test';
const main = { install: async () => install(), test, serve }[cmd];
if (!main) {
  console.error('usage: node scripts/vscode-host.mjs install|test [integration|ui|untrusted]|serve [folder]');
  process.exit(2);
}
main().catch((e) => {
  console.error(e?.stack ?? String(e));
  if (cmd === 'test') console.log(`vscode: ${results.filter((r) => r.ok && !r.skipped).length} passed, ${results.filter((r) => !r.ok).length + 1} failed, ${results.filter((r) => r.skipped).length} skipped`);
  killAll();
  process.exit(1);
});
