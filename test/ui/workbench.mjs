// The UI checks on a real VS Code workbench (code-server driven by Chromium): the installed .vsix from the palette
// to the finished panel, and an untrusted workspace. scripts/vscode-host.mjs starts the instances and passes its
// helpers in `h`; the checks themselves live here, with the other UI tests.
import { mkdirSync, mkdtempSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function uiSuite(browser, h) {
  const { check, startCodeServer, openWorkbench, workbenchUrl, makeWorkspace, writeDemoScenario, runFromPalette, pickQuickItem, packageAndInstall, processesIn, waitForValue, shotsDir, keep, repo } = h;
  const pages = [];
  const extRoot = mkdtempSync(join(tmpdir(), 'alloclab-vsix-'));
  const extensionsDir = join(extRoot, 'extensions');
  mkdirSync(extensionsDir, { recursive: true });
  let installedOk = false;
  await check('vsce package offline and --install-extension', () => {
    packageAndInstall(extensionsDir);
    installedOk = true;
    return 'vsix installed';
  });
  const ws = makeWorkspace('ui');
  writeDemoScenario(ws);
  // Falls back to the development path when the vsix could not be installed, so the UI checks still say something.
  const server = await startCodeServer({ extensionsDir: installedOk ? extensionsDir : undefined });
  try {
    const page = await openWorkbench(browser, workbenchUrl(server.url, ws, installedOk ? {} : { extensionDevelopmentPath: repo }));
    pages.push(page);
    await check('the installed extension activates: its view container is in the activity bar', async () => {
      await page.locator('.activitybar [aria-label^="Allocator Lab"]').first().waitFor({ timeout: 30_000 });
    });
    let frame;
    await check('palette -> Run Scenario opens the live panel with one line per environment', async () => {
      await runFromPalette(page, 'Allocator Lab: Run Scenario');
      // Run Scenario asks whether phases end once settled; the check keeps the scenario's fixed durations.
      await pickQuickItem(page, 'Fixed durations');
      frame = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
      await frame.locator('#chart canvas').first().waitFor({ timeout: 60_000 });
      const end = Date.now() + 60_000;
      let n = 0;
      while ((n = await frame.locator('.legend-item').count()) < 2) {
        if (Date.now() > end) throw new Error(`legend shows ${n} environments, want 2`);
        await page.waitForTimeout(250);
      }
      await page.screenshot({ path: join(shotsDir, 'panel-live.png') });
      return `${n} legend items; ${join(shotsDir, 'panel-live.png')}`;
    });
    await check('the metrics table fills (one row per environment) and the verdict appears', async () => {
      if (!frame) throw new Error('no panel');
      const end = Date.now() + 90_000;
      for (;;) {
        const rows = await frame.locator('table#metrics tbody tr').count();
        const verdict = (await frame.locator('#verdict').textContent().catch(() => '')) ?? '';
        const text = rows ? await frame.locator('table#metrics tbody').innerText() : '';
        // Rows exist from the start of the run; finished means no row still running and the real verdict.
        const done = rows === 2 && verdict.trim() && !/when the run completes/i.test(verdict) && !/running/i.test(text);
        if (done && (text.match(/MiB/g) ?? []).length >= 4) {
          // The finished toast covers the table; the screenshot is about the panel.
          const hide = await page.addStyleTag({ content: '.notifications-toasts { visibility: hidden !important; }' });
          await page.screenshot({ path: join(shotsDir, 'panel-finished.png') });
          await hide.evaluate((el) => el.remove());
          return `rows=${rows}, verdict "${verdict.trim().slice(0, 80)}"; ${join(shotsDir, 'panel-finished.png')}`;
        }
        if (Date.now() > end) throw new Error(`table rows=${rows}, verdict="${verdict}", text="${text.slice(0, 200)}"`);
        await page.waitForTimeout(500);
      }
    });
    await check('the Runs view lists the finished run', async () => {
      await page.locator('.activitybar [aria-label^="Allocator Lab"]').first().click();
      await page.locator('.pane-body [aria-label*="ui-demo"], .pane-body .monaco-list-row:has-text("ui-demo")').first().waitFor({ timeout: 20_000 });
    });
    await check('closing VS Code mid-run leaves no target behind', async () => {
      await runFromPalette(page, 'Allocator Lab: Run Scenario');
      const pids = await waitForValue('a target to start', 30_000, () => {
        const p = processesIn(ws);
        return p.length ? p : undefined;
      });
      for (const p of pages.splice(0)) await p.close().catch(() => undefined);
      await server.stop();
      await waitForValue('the targets to be gone', 5000, () => (processesIn(ws).length ? undefined : true))
        .catch(() => { throw new Error(`still running: ${processesIn(ws).join(', ')}`); });
      return `target pid ${pids.join(', ')} stopped with the instance`;
    });
  } finally {
    for (const p of pages.splice(0)) await p.close().catch(() => undefined);
    await server.stop();
    if (!keep) {
      rmSync(ws, { recursive: true, force: true });
      rmSync(extRoot, { recursive: true, force: true });
    }
  }
}

export async function untrustedSuite(browser, h) {
  const { check, record, results, recordSkips, startCodeServer, openWorkbench, workbenchUrl, makeWorkspace, writeDemoScenario, after, shotsDir, keep, repo } = h;
  const ws = makeWorkspace('untrusted');
  writeDemoScenario(ws);
  const resultsFile = join(tmpdir(), `alloclab-untrusted-${process.pid}.json`);
  rmSync(resultsFile, { force: true });
  const server = await startCodeServer({ trusted: false, env: { ALLOCLAB_TEST_RESULTS: resultsFile } });
  try {
    let exitCode;
    const exited = new Promise((r) => (exitCode = r));
    const page = await openWorkbench(browser, workbenchUrl(server.url, ws, {
      extensionDevelopmentPath: repo, extensionTestsPath: join(repo, 'dist', 'test', 'integration', 'untrusted.js'),
    }), { onExit: (c) => exitCode(c) });
    // The trust prompt asks first; answer no (restricted mode).
    const no = page.locator('.monaco-dialog-box .monaco-button', { hasText: /don't trust|No/i }).first();
    await no.waitFor({ timeout: 15_000 }).then(() => no.click()).catch(() => undefined);
    await check('untrusted workspace: Run Scenario invoked anyway shows why it refuses', async () => {
      const toast = page.locator('.notifications-toasts .notification-list-item-message', { hasText: 'trusted workspace' }).first();
      await toast.waitFor({ timeout: 60_000 });
      await page.screenshot({ path: join(shotsDir, 'untrusted.png') });
      return `"${(await toast.innerText()).slice(0, 100)}…"`;
    });
    const code = await Promise.race([exited, after(90_000, 'timeout')]);
    await page.close().catch(() => undefined);
    if (!existsSync(resultsFile)) {
      record('untrusted workspace checks in the extension host', false, `no results (exit ${code}):\n${server.output().slice(-3000)}`);
    } else {
      const res = JSON.parse(readFileSync(resultsFile, 'utf8'));
      for (let i = 0; i < res.passed; i++) results.push({ name: `untrusted #${i + 1}`, ok: true });
      for (const f of res.failures) record(f.title, false, f.error);
      recordSkips('untrusted', res);
      console.log(`untrusted (in the extension host): ${res.passed} passed, ${res.failed} failed, ${(res.skipped ?? []).length} skipped`);
    }
  } finally {
    await server.stop();
    rmSync(resultsFile, { force: true });
    if (!keep) rmSync(ws, { recursive: true, force: true });
  }
}
