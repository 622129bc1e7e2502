// Chromium checks of the run panel without VS Code: (1) the standalone HTML report of a synthetic run, opened from
// disk; (2) the exact page VS Code gets (strict CSP, bundle loaded from a resource origin), served on 127.0.0.1,
// with a stand-in for acquireVsCodeApi, driven by the same messages the host sends.
//
// Run:  npm run build   (or just the webview bundle), then
//   npx esbuild test/ui/webview-report.test.ts --bundle --platform=node --format=cjs --packages=external \
//     --outfile=dist/test/ui/webview-report.test.js && node dist/test/ui/webview-report.test.js
// Prints "N passed, N failed, N skipped"; exit code 1 on any failure. Screenshots: $ALLOCLAB_UI_OUT or /tmp/alloclab-ui/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { writeHtmlReport } from '../../src/core/report/html';
import { packageRoot } from '../../src/core/workers';
import type { ToWebview } from '../../src/protocol/webview';
import { makeNonce, panelHtml } from '../../src/vscode/panel/panelHtml';
import { fixtureRun } from '../unit/webview/fixture';
import { computeEnvironmentMetrics } from '../../src/core/analysis/metrics';
import { FINDING_TITLES } from '../../src/core/analysis/diagnosisText';
import { judgeRun } from '../../src/core/analysis/verdict';
import type { Sample } from '../../src/core/model';
import type { StoredRun } from '../../src/core/runs/store';

const LAUNCH_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const outDir = process.env.ALLOCLAB_UI_OUT ?? path.join(tmpdir(), 'alloclab-ui');
const work = mkdtempSync(path.join(tmpdir(), 'alloclab-ui-'));

let passed = 0, failed = 0;
async function check(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${(e as Error).stack?.split('\n').slice(0, 3).join('\n     ')}`);
  }
}
function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Canvas pixels within a small distance of each given colour (how we see which lines are drawn). */
async function colourCounts(page: Page, colours: string[]): Promise<number[]> {
  return page.evaluate((cols) => {
    const canvas = document.querySelector<HTMLCanvasElement>('#chart canvas')!;
    const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const probe = document.createElement('span');
    document.body.append(probe);
    const rgb = cols.map((c) => {
      probe.style.color = c;
      return getComputedStyle(probe).color.match(/\d+/g)!.map(Number);
    });
    probe.remove();
    const counts = rgb.map(() => 0);
    for (let i = 0; i < img.length; i += 4) {
      if (img[i + 3] < 200) continue;
      rgb.forEach(([r, g, b], k) => {
        if (Math.abs(img[i] - r) + Math.abs(img[i + 1] - g) + Math.abs(img[i + 2] - b) < 40) counts[k]++;
      });
    }
    return counts;
  }, colours);
}

async function swatchColours(page: Page): Promise<string[]> {
  return page.$$eval('.legend-item .swatch', (els) => els.map((e) => getComputedStyle(e).backgroundColor));
}

const frame = () => new Promise((r) => setTimeout(r, 150));

async function reportChecks(browser: Browser): Promise<void> {
  const run = fixtureRun(50);
  const file = path.join(work, 'report.html');
  writeHtmlReport(run, file);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`file://${file}`);
  await page.waitForSelector('#chart canvas');
  await page.waitForSelector('table#metrics tbody tr');
  await frame();

  await check('report: loads with no errors, CSP included', async () => {
    assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
  });

  await check('report: one legend item and one drawn line per environment', async () => {
    const labels = await page.$$eval('.legend-item', (els) => els.map((e) => e.textContent));
    assert(labels.length === 3, `legend items: ${labels.length}`);
    assert(labels[2] === 'mimalloc, "preloaded"', `label: ${labels[2]}`);
    const counts = await colourCounts(page, await swatchColours(page));
    assert(counts.every((c) => c > 300), `pixels per series colour: ${counts}`);
  });

  await check('report: clicking a legend item hides that line only, clicking again shows it', async () => {
    const colours = await swatchColours(page);
    const before = await colourCounts(page, colours);
    await page.click('.legend-item[data-index="1"]');
    await frame();
    const hidden = await colourCounts(page, colours);
    assert(hidden[1] < before[1] / 20, `hidden series still drawn: ${before[1]} -> ${hidden[1]}`);
    assert(hidden[0] > before[0] * 0.8 && hidden[2] > before[2] * 0.8, `other series changed: ${before} -> ${hidden}`);
    assert(await page.$eval('.legend-item[data-index="1"]', (e) => e.getAttribute('aria-pressed')) === 'false', 'aria-pressed not updated');
    await page.click('.legend-item[data-index="1"]');
    await frame();
    const shown = await colourCounts(page, colours);
    assert(shown[1] > before[1] * 0.8, `series not shown again: ${shown[1]}`);
  });

  await check('report: metrics table has one row per environment with figures', async () => {
    const rows = await page.$$eval('table#metrics tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert(rows.length === 3, `rows: ${rows.length}`);
    for (const r of rows) {
      assert(/^\d+\.\d MiB$/.test(r[2]) && /^\d+\.\d MiB$/.test(r[3]), `peak/final not numbers: ${r.join(' | ')}`);
      assert(/MiB\/min$/.test(r[4]), `growth: ${r[4]}`);
    }
    const peakGlibc = Number(rows[0][2].split(' ')[0]);
    const expected = run.environments[0].record.metrics!.peakRssBytes / 1048576;
    assert(Math.abs(peakGlibc - expected) < 0.1, `glibc peak ${peakGlibc} != ${expected}`);
    assert(/req\/s$/.test(rows[1][6]) && /ms$/.test(rows[1][7]), `throughput/p99: ${rows[1].join(' | ')}`);
    assert(/^stopped/.test(rows[0][8]), `exit of glibc: ${rows[0][8]}`);
    assert(rows[2][1].startsWith('not applied: libmimalloc.so.2 is not mapped'), `allocator cell: ${rows[2][1]}`);
    const crashed = await page.$eval('table#metrics tbody tr:nth-child(3) .crashed', (e) => [e.textContent, getComputedStyle(e).color]);
    assert(crashed[0] === 'crashed' && crashed[1] === 'rgb(229, 20, 0)', `crashed cell: ${crashed}`);
  });

  await check('report: the finding is a badge above the chart, and the verdict starts with its headline', async () => {
    const d = run.record.diagnosis!;
    const badge = (await page.textContent('#finding .badge'))?.trim();
    assert(badge === FINDING_TITLES[d.finding], `badge: ${badge} for ${d.finding}`);
    assert(((await page.textContent('#finding .confidence')) ?? '').includes(d.confidence), 'confidence shown');
    const f = (await (await page.$('#finding'))!.boundingBox())!, c = (await (await page.$('#chart'))!.boundingBox())!;
    assert(f.y + f.height <= c.y, `badge at ${f.y}..${f.y + f.height}, chart from ${c.y}`);
    assert(run.record.verdict!.startsWith(d.summary), 'the verdict starts with the headline');
  });

  await check('report: the verdict is shown, with when and where the run was made', async () => {
    const text = (await page.textContent('#verdict'))?.trim();
    assert(text && text === run.record.verdict, `verdict: ${text} vs ${run.record.verdict}`);
    const meta = (await page.textContent('#meta')) ?? '';
    assert(meta.includes('2026-01-01 00:00 UTC') && meta.includes('test (2 CPUs') && meta.includes('3 environments'), `meta: ${meta}`);
  });

  await check('report: hover read-out names every environment; drag zooms; double-click resets', async () => {
    const box = (await page.$('#chart .u-over'))!;
    const b = (await box.boundingBox())!;
    const at = b.x + b.width * 0.75, y = b.y + b.height / 2;
    const tAt = async () => {
      await page.mouse.move(at, y);
      await frame();
      const text = (await page.textContent('#readout')) ?? '';
      return { text, t: Number(/t = ([\d.]+) s/.exec(text)?.[1]) };
    };
    const r0 = await tAt();
    for (const label of ['glibc (default)', 'jemalloc']) assert(r0.text.includes(`${label}: `), `read-out: ${r0.text}`);
    assert(r0.t > 10 && r0.t < 14, `t at 75 %: ${r0.t}`);
    await page.mouse.move(b.x + b.width * 0.1, y);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * 0.3, y, { steps: 5 });
    await page.mouse.up();
    await frame();
    const r1 = await tAt();
    // The zoomed scale runs from t at 10 % to t at 30 % of the old one; 75 % into it is therefore:
    const want = r0.t * (0.1 + 0.75 * 0.2) / 0.75;
    assert(Math.abs(r1.t - want) < 0.2, `zoomed scale: t at 75 % is ${r1.t}, want ${want.toFixed(2)}`);
    await page.mouse.dblclick(at, y);
    await frame();
    const r2 = await tAt();
    assert(Math.abs(r2.t - r0.t) < 0.2, `double-click did not reset: ${r2.t} vs ${r0.t}`);
  });

  await check('report: CSV and PNG exports download', async () => {
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    assert(csv.suggestedFilename() === `${run.record.id}.csv`, `csv name: ${csv.suggestedFilename()}`);
    const csvText = readFileSync((await csv.path())!, 'utf8');
    const total = run.environments.reduce((a, e) => a + e.samples.length, 0);
    assert(csvText.trimEnd().split('\n').length === total + 1, 'csv rows');
    const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-png')]);
    const bytes = readFileSync((await png.path())!);
    assert(bytes.subarray(1, 4).toString() === 'PNG' && bytes.length > 5000, `png: ${bytes.length} bytes`);
    const [json] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    assert(JSON.parse(readFileSync((await json.path())!, 'utf8')).id === run.record.id, 'json export');
  });

  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, 'report.png'), fullPage: true });
  await page.close();
}

async function longRunChecks(browser: Browser): Promise<void> {
  // 1 ms sampling: 16,000 samples per environment, far more than the chart draws.
  const run = fixtureRun(1);
  const file = path.join(work, 'long.html');
  writeHtmlReport(run, file);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`file://${file}`);
  await page.waitForSelector('#chart canvas');
  await frame();
  const points = async () => Number(await page.getAttribute('#chart', 'data-points'));
  await check('long run: thinned for drawing, zooming in draws the window in detail, double-click goes back', async () => {
    const total = run.environments.reduce((a, e) => a + e.samples.length, 0);
    const full = await points();
    assert(full > 1000 && full < total / 4, `points drawn for ${total} samples: ${full}`);
    const b = (await (await page.$('#chart .u-over'))!.boundingBox())!;
    const y = b.y + b.height / 2;
    await page.mouse.move(b.x + b.width * 0.40, y);
    await page.mouse.down();
    await page.mouse.move(b.x + b.width * 0.45, y, { steps: 4 });
    await page.mouse.up();
    await frame();
    const zoomed = await points();
    // Without thinning again, a 5 % window would hold about 5 % of the points drawn before.
    assert(zoomed > full * 0.05 * 5, `zoomed window draws ${zoomed} points (full view ${full})`);
    await page.mouse.dblclick(b.x + b.width / 2, y);
    await frame();
    const back = await points();
    assert(Math.abs(back - full) <= full * 0.05, `after reset ${back}, before ${full}`);
  });
  await page.close();
}

/** Serves the panel page as VS Code would (CSP, resources from another origin than the page's data). */
async function servePanel(): Promise<{ server: Server; url: string; nonce: string }> {
  const dist = path.join(packageRoot(), 'dist');
  const nonce = makeNonce();
  const server = createServer((req, res) => {
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(panelHtml({ cspSource: origin, scriptUri: `${origin}/dist/webview.js`, styleUri: `${origin}/dist/webview.css`, nonce, title: 'Run: fixture' }));
    } else if (req.url === '/dist/webview.js' || req.url === '/dist/webview.css') {
      res.writeHead(200, { 'content-type': req.url.endsWith('.js') ? 'text/javascript' : 'text/css' });
      res.end(readFileSync(path.join(dist, path.basename(req.url))));
    } else if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, nonce };
}

async function panelChecks(browser: Browser): Promise<void> {
  const { server, url } = await servePanel();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} ${m.location().url}`); });
    // Stands in for VS Code's webview API; init scripts run before the page and are not subject to its CSP.
    await page.addInitScript(() => {
      const w = window as unknown as { __posted: unknown[]; __state: unknown; __csp: string[]; acquireVsCodeApi: () => unknown };
      w.__posted = [];
      w.__csp = [];
      w.__state = undefined;
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
      let acquired = false;
      w.acquireVsCodeApi = () => {
        if (acquired) throw new Error('acquireVsCodeApi called twice');
        acquired = true;
        return { postMessage: (m: unknown) => w.__posted.push(m), setState: (s: unknown) => { w.__state = s; }, getState: () => w.__state };
      };
    });
    await page.goto(url);
    const posted = () => page.evaluate(() => (window as unknown as { __posted: { type: string; [k: string]: unknown }[] }).__posted);
    const send = (msg: ToWebview | unknown) => page.evaluate((m) => window.postMessage(m, '*'), msg as object);

    await check('panel: loads under the strict CSP and says ready', async () => {
      await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
      const csp = await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
      assert(csp.length === 0, `CSP violations: ${csp.join(' | ')}`);
      assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
    });

    // A live run: the host sends a snapshot with half of the first environment, then increments.
    const run = fixtureRun(50);
    const full0 = run.environments[0].samples;
    const half = Math.floor(full0.length / 2);
    const live = {
      dir: '/runs/fixture', live: true,
      record: { ...run.record, complete: false, verdict: null, environments: run.record.environments.map((e, i) => (i === 0 ? { ...e, metrics: null, exit: null, verification: null } : e)) },
      environments: run.environments.map((e, i) => (i === 0 ? { ...e, record: { ...e.record, metrics: null, exit: null, verification: null }, samples: full0.slice(0, half), events: e.events.filter((ev) => ev.t <= full0[half - 1].t) } : e)),
    };
    const finalCell = () => page.$eval('table#metrics tbody tr:nth-child(1) td:nth-child(4)', (td) => td.textContent);

    await check('panel: a snapshot draws the run and stores the run folder as state', async () => {
      await send({ type: 'snapshot', run: live });
      await page.waitForSelector('table#metrics tbody tr:nth-child(3)');
      await frame();
      assert((await page.textContent('#status')) === 'running', `status: ${await page.textContent('#status')}`);
      assert(/^running/.test((await page.textContent('table#metrics tbody tr:nth-child(1) td:nth-child(9)')) ?? ''), 'exit cell of the live environment');
      // The record has no verification yet; the "verified" event already says it.
      assert((await page.textContent('table#metrics tbody tr:nth-child(1) td:nth-child(2)')) === 'applied', 'allocator cell from the verified event');
      const state = await page.evaluate(() => (window as unknown as { __state: unknown }).__state);
      assert(JSON.stringify(state) === JSON.stringify({ runDir: '/runs/fixture' }), `state: ${JSON.stringify(state)}`);
      await page.click('.legend-item[data-index="2"]');
      const hidden = await page.evaluate(() => (window as unknown as { __state: unknown }).__state);
      assert(JSON.stringify(hidden) === JSON.stringify({ runDir: '/runs/fixture', hidden: [2] }), `state after a legend click: ${JSON.stringify(hidden)}`);
      await page.click('.legend-item[data-index="2"]');
      const expected = (full0[half - 1].rssBytes / 1048576).toFixed(1);
      assert((await finalCell()) === `${expected} MiB`, `final while live: ${await finalCell()} vs ${expected}`);
    });

    await check('panel: invalid messages are ignored and reported to the host', async () => {
      await send({ type: 'samples', index: 0, samples: [{ t: 'late', rssBytes: 1 }] });
      await send({ type: 'samples', index: 0, samples: [{ t: 1e9, rssBytes: 1e15 }], extra: '<img src=x onerror=alert(1)>' }); // valid shape: accepted below
      await send({ type: 'explode' });
      await frame();
      const logs = (await posted()).filter((m) => m.type === 'log');
      assert(logs.length === 2, `log messages: ${JSON.stringify(logs)}`);
    });

    await check('panel: sample increments and the final record update the table and verdict', async () => {
      // Drop the extreme sample the previous check appended, by sending a fresh snapshot first.
      await send({ type: 'snapshot', run: live });
      for (let i = half; i < full0.length; i += 40) await send({ type: 'samples', index: 0, samples: full0.slice(i, i + 40) });
      for (const event of run.environments[0].events.filter((ev) => ev.t > full0[half - 1].t)) await send({ type: 'event', index: 0, event });
      await frame();
      const expected = (full0.at(-1)!.rssBytes / 1048576).toFixed(1);
      assert((await finalCell()) === `${expected} MiB`, `final after increments: ${await finalCell()} vs ${expected}`);
      const exitCell = await page.textContent('table#metrics tbody tr:nth-child(1) td:nth-child(9)');
      assert(exitCell === 'stopped (code 0)', `exit cell from the exit event, before the record: ${exitCell}`);
      await send({ type: 'record', record: run.record });
      await frame();
      assert((await page.textContent('#verdict')) === run.record.verdict, 'verdict after the final record');
      assert((await page.textContent('#status')) === 'complete', 'status after the final record');
    });

    await check('panel: export posts the data to the host instead of downloading', async () => {
      await page.click('#export-csv');
      await page.click('#export-png');
      const exports = (await posted()).filter((m) => m.type === 'export');
      assert(exports.length === 2, `exports: ${exports.length}`);
      const total = run.environments.reduce((a, e) => a + e.samples.length, 0);
      assert(exports[0].format === 'csv' && (exports[0].data as string).trimEnd().split('\n').length === total + 1, 'csv data');
      assert(exports[0].suggestedName === `${run.record.id}.csv`, `name: ${exports[0].suggestedName}`);
      assert(exports[1].format === 'png' && (exports[1].data as string).startsWith('data:image/png;base64,'), 'png data');
    });

    await check('panel: follows a theme change (body class and --vscode-charts-* variables)', async () => {
      const before = await colourCounts(page, ['#ff00ff']);
      await page.evaluate(() => {
        document.documentElement.style.setProperty('--vscode-charts-blue', '#ff00ff');
        document.documentElement.style.setProperty('--vscode-editor-background', '#1e1e1e');
        document.documentElement.style.setProperty('--vscode-foreground', '#cccccc');
        document.body.classList.add('vscode-dark');
      });
      await frame();
      const sw = (await swatchColours(page))[0];
      assert(sw === 'rgb(255, 0, 255)', `first series colour after the theme change: ${sw}`);
      const after = await colourCounts(page, ['#ff00ff']);
      assert(before[0] < 20 && after[0] > 300, `magenta pixels ${before} -> ${after}`);
    });

    mkdirSync(outDir, { recursive: true });
    await page.screenshot({ path: path.join(outDir, 'panel-dark.png'), fullPage: true });
    await check('panel: no page errors over the whole session', async () => {
      assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
    });
    await page.close();
  } finally {
    server.close();
  }
}

// ---- the RSS ledger ----------------------------------------------------------------------------------------------

/** The fixture's glibc and jemalloc environments with probe figures in every sample and /proc status in every 4th. */
function ledgerRun(): StoredRun {
  const base = fixtureRun(50);
  const environments = base.environments.slice(0, 2).map((e, k) => {
    const samples = e.samples.map((s, j) => {
      const file = (8 + k) * 1048576;
      // glibc: a flat live heap, a growing free-but-held part; jemalloc: the same live heap, little held.
      const live = Math.round(Math.min(s.rssBytes * 0.4, (12 + k) * 1048576));
      const held = Math.round(Math.max(0, (s.rssBytes - file - live) * (k === 0 ? 0.8 : 0.5)));
      // Samples as the probe now writes them: the parts beyond held (glibc: 1 MiB of thread stacks) and the age of
      // the figures; jemalloc's last 10 % are over 1 s old with no fresh figure after them: "unknown".
      const stale = k === 1 && j >= e.samples.length * 0.9;
      const stacks = k === 0 ? Math.min(1048576, Math.max(0, s.rssBytes - file - live - held)) : 0;
      return {
        ...s, liveHeapBytes: live, allocatorHeldBytes: held, threadStacksBytes: stacks,
        otherAnonBytes: Math.max(0, s.rssBytes - file - live - held - stacks), allocatorFiguresAgeMs: stale ? 1500 : 120,
        ...(j % 4 === 0 ? { anonBytes: s.rssBytes - file, fileBytes: file - 4096, shmemBytes: 4096 } : {}),
      };
    });
    const record = { ...e.record, metrics: computeEnvironmentMetrics(samples, e.events) };
    return { ...e, record, samples };
  });
  const record = { ...base.record, id: '20260101-000000-ledger', name: 'ledger fixture', environments: environments.map((e) => e.record) };
  judgeRun(record);
  return { dir: base.dir, record, environments };
}

/** What the ledger read-out must say at the end, worked out here from the last sample (not by the panel's code). */
function expectedEnd(samples: Sample[]): string {
  const last = samples.at(-1)!;
  const status = [...samples].reverse().find((s) => s.fileBytes != null)!;
  const file = status.fileBytes! + status.shmemBytes!;
  const anon = last.anonBytes ?? last.rssBytes - file;
  const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
  if (last.allocatorFiguresAgeMs! > 1000) {
    return `live heap ${mib(last.liveHeapBytes!)}  ·  unknown ${mib(anon - last.liveHeapBytes!)} (the allocator's figures were over 1 s old)  ·  file-backed ${mib(file)}`;
  }
  const stacks = last.threadStacksBytes ?? 0;
  const other = Math.max(0, anon - last.liveHeapBytes! - last.allocatorHeldBytes! - stacks);
  return `live heap ${mib(last.liveHeapBytes!)}  ·  held by allocator ${mib(last.allocatorHeldBytes!)}${stacks > 0 ? `  ·  thread stacks ${mib(stacks)}` : ''}  ·  other anonymous ${mib(other)}  ·  file-backed ${mib(file)}`;
}

/** Pixels of each ledger chart's canvas filled in each layer colour (the key's swatches give the colours). */
async function ledgerLayerCounts(page: Page): Promise<number[][]> {
  return page.evaluate(() => {
    const probe = document.createElement('span');
    document.body.append(probe);
    const rgb = [...document.querySelectorAll<HTMLElement>('.ledger-key .swatch')].map((sw) => {
      // The hatched "unknown" swatch has no single colour: never matched.
      if (!sw.style.background) return [-1000, -1000, -1000];
      probe.style.color = sw.style.background;
      return getComputedStyle(probe).color.match(/\d+/g)!.map(Number);
    });
    probe.remove();
    return [...document.querySelectorAll<HTMLCanvasElement>('.ledger-chart canvas')].map((canvas) => {
      const img = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      const counts = rgb.map(() => 0);
      for (let i = 0; i < img.length; i += 4) {
        // The fills are translucent on a transparent canvas; the 1 px edges are opaque and not counted.
        if (img[i + 3] < 100 || img[i + 3] > 200) continue;
        rgb.forEach(([r, g, b], k) => {
          if (Math.abs(img[i] - r) + Math.abs(img[i + 1] - g) + Math.abs(img[i + 2] - b) < 40) counts[k]++;
        });
      }
      return counts;
    });
  });
}

async function tableHead(page: Page): Promise<string[]> {
  return page.$$eval('table#metrics thead th', (ths) => ths.map((th) => th.textContent ?? ''));
}

async function ledgerChecks(browser: Browser): Promise<void> {
  const run = ledgerRun();
  const file = path.join(work, 'ledger.html');
  writeHtmlReport(run, file);
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(`file://${file}`);
  await page.waitForSelector('.ledger-chart canvas');
  await frame();

  await check('ledger report: one stacked chart per environment, side by side, each layer drawn', async () => {
    const charts = await page.$$eval('#ledger .ledger-chart', (els) => els.map((e) => ({ env: (e as HTMLElement).dataset.env, box: e.getBoundingClientRect().toJSON() as DOMRect })));
    assert(charts.length === 2 && charts[0].env === 'glibc' && charts[1].env === 'jemalloc', `charts: ${JSON.stringify(charts.map((c) => c.env))}`);
    assert(Math.abs(charts[0].box.top - charts[1].box.top) < 2 && charts[1].box.left > charts[0].box.right - 1, 'charts not side by side');
    const counts = await ledgerLayerCounts(page);
    assert(counts.length === 2, `canvases: ${counts.length}`);
    // Layers: live, held, stacks, metadata, direct, lazy free, probe, other, unknown, file. Every layer with figures is
    // drawn (jemalloc's are short: the y axis is shared with glibc's taller stack); glibc's 1 MiB of stacks is a
    // band a pixel or two high, checked in the read-out instead.
    for (const c of counts) assert(c[0] > 800 && c[1] > 400 && c[7] > 300 && c[9] > 50, `pixels per layer: ${JSON.stringify(counts)}`);
    // glibc holds far more than jemalloc in this fixture: its orange band is larger.
    assert(counts[0][1] > 1.5 * counts[1][1], `held layer glibc vs jemalloc: ${counts[0][1]} vs ${counts[1][1]}`);
    assert(errors.length === 0, `page errors: ${errors.join(' | ')}`);
  });

  await check('ledger report: the read-out at rest gives the end figures of each layer', async () => {
    const texts = await page.$$eval('.ledger-readout', (els) => els.map((e) => e.textContent ?? ''));
    run.environments.forEach((e, i) => assert(texts[i] === `at the end: ${expectedEnd(e.samples)}`, `read-out ${i}: ${texts[i]}\n want: ${expectedEnd(e.samples)}`));
  });

  await check('ledger report: the table has live heap and held by allocator columns with the metrics', async () => {
    const head = (await tableHead(page)).map((h) => h.toLowerCase());
    const liveCol = head.findIndex((h) => h.includes('live heap'));
    const heldCol = head.findIndex((h) => h.includes('held by allocator'));
    assert(liveCol > 0 && heldCol > 0, `headers: ${head.join(' | ')}`);
    const rows = await page.$$eval('table#metrics tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert(rows.length === 2 && rows.every((r) => r.length === head.length), `cells per row vs headers: ${rows.map((r) => r.length)} vs ${head.length}`);
    run.environments.forEach((e, i) => {
      const m = e.record.metrics!;
      assert(rows[i][liveCol] === `${(m.liveHeapBytes! / 1048576).toFixed(1)} MiB`, `live heap cell ${i}: ${rows[i][liveCol]}`);
      assert(rows[i][heldCol] === `${(m.allocatorHeldBytes! / 1048576).toFixed(1)} MiB`, `held cell ${i}: ${rows[i][heldCol]}`);
      assert(/^stopped/.test(rows[i].at(-1)!), `exit still in the last column: ${rows[i].at(-1)}`);
    });
  });

  await check('ledger report: figures over 1 s old with nothing fresh after them are "unknown", hatched in the key', async () => {
    const key = await page.$$eval('.ledger-key .ledger-key-item', (els) => els.map((e) => e.textContent ?? ''));
    assert(key.some((k) => k.startsWith('unknown')), `key: ${key.join(' | ')}`);
    assert(await page.$('.ledger-key .swatch-unknown') !== null, 'no hatched swatch');
    const jem = (await page.$$('.ledger-chart .u-over'))[1];
    const b = (await jem.boundingBox())!;
    // The jemalloc chart spans the shared x axis; its stale tail is its last 10 %.
    const lastT = run.environments[1].samples.at(-1)!.t / 1000;
    const xMax = Math.max(...run.environments.map((e) => e.samples.at(-1)!.t / 1000));
    await page.mouse.move(b.x + (b.width * lastT * 0.97) / xMax, b.y + b.height / 2);
    await frame();
    const text = (await page.$$eval('.ledger-readout', (els) => els.map((e) => e.textContent ?? '')))[1];
    assert(/unknown [\d.]+ MiB \(the allocator's figures were over 1 s old\)/.test(text), `read-out over the stale tail: ${text}`);
    await page.mouse.move(b.x + b.width / 2, b.y - 40);
    await frame();
  });

  await check('ledger report: hovering a chart reads out that moment', async () => {
    const b = (await (await page.$('.ledger-chart .u-over'))!.boundingBox())!;
    await page.mouse.move(b.x + b.width * 0.5, b.y + b.height / 2);
    await frame();
    const text = (await page.textContent('.ledger-chart .ledger-readout')) ?? '';
    const t = Number(/^t = ([\d.]+) s/.exec(text)?.[1]);
    assert(t > 6 && t < 10 && text.includes('held by allocator'), `read-out on hover: ${text}`);
    await page.mouse.move(b.x + b.width / 2, b.y - 40);
    await frame();
    assert(((await page.textContent('.ledger-chart .ledger-readout')) ?? '').startsWith('at the end:'), 'read-out after leaving');
  });

  mkdirSync(outDir, { recursive: true });
  await page.screenshot({ path: path.join(outDir, 'ledger.png'), fullPage: true });

  await check('report without ledger data: no ledger section, no ledger columns', async () => {
    const plain = path.join(work, 'plain.html');
    writeHtmlReport(fixtureRun(50), plain);
    await page.goto(`file://${plain}`);
    await page.waitForSelector('table#metrics tbody tr');
    await frame();
    const box = await page.$eval('#ledger', (e) => ({ hidden: (e as HTMLElement).hidden, children: e.childElementCount, height: e.getBoundingClientRect().height }));
    assert(box.hidden && box.children === 0 && box.height === 0, `#ledger: ${JSON.stringify(box)}`);
    assert(!(await tableHead(page)).some((h) => /live heap|held by allocator/i.test(h)), `headers: ${await tableHead(page)}`);
  });
  await page.close();

  // Live: a snapshot before the probe has published anything, then increments that carry its figures.
  const { server, url } = await servePanel();
  try {
    const panel = await browser.newPage({ viewport: { width: 1100, height: 800 } });
    const panelErrors: string[] = [];
    panel.on('pageerror', (e) => panelErrors.push(e.message));
    await panel.addInitScript(() => {
      const w = window as unknown as { acquireVsCodeApi: () => unknown; __csp: string[]; __posted: unknown[] };
      w.__csp = [];
      w.__posted = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
      w.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => w.__posted.push(m), setState: () => undefined, getState: () => undefined });
    });
    await panel.goto(url);
    await panel.waitForSelector('#chart');
    const e0 = run.environments[0];
    const bare = e0.samples.map(({ liveHeapBytes: _l, allocatorHeldBytes: _h, ...s }) => s);
    const snapshot = {
      dir: '/runs/ledger', live: true,
      record: { ...run.record, complete: false, verdict: null, environments: [{ ...e0.record, metrics: null, exit: null }] },
      environments: [{ ...e0, record: { ...e0.record, metrics: null, exit: null }, samples: bare.slice(0, 20), events: e0.events.filter((ev) => ev.t <= bare[19].t) }],
    };
    const send = (msg: unknown) => panel.evaluate((m) => window.postMessage(m, '*'), msg as object);
    await check('ledger panel: live increments add the chart and the columns, and move the end figures', async () => {
      await send({ type: 'snapshot', run: snapshot });
      await panel.waitForSelector('table#metrics tbody tr');
      await frame();
      assert((await panel.$$('.ledger-chart')).length === 0, 'a ledger chart before any ledger sample');
      assert(!(await tableHead(panel)).some((h) => /live heap/i.test(h)), 'ledger columns before any ledger sample');
      const half = Math.floor(e0.samples.length / 2);
      await send({ type: 'samples', index: 0, samples: e0.samples.slice(20, half) });
      await frame();
      const mid = await panel.textContent('.ledger-readout');
      assert(mid === `at the end: ${expectedEnd(e0.samples.slice(0, half))}`, `read-out at half: ${mid}`);
      assert((await tableHead(panel)).some((h) => /live heap/i.test(h)), 'no live heap column after ledger samples arrived');
      for (let i = half; i < e0.samples.length; i += 40) await send({ type: 'samples', index: 0, samples: e0.samples.slice(i, i + 40) });
      await frame();
      const end = await panel.textContent('.ledger-readout');
      assert(end === `at the end: ${expectedEnd(e0.samples)}`, `read-out at the end: ${end}`);
      const counts = await ledgerLayerCounts(panel);
      assert(counts.length === 1 && counts[0][1] > 1000, `layers drawn live: ${JSON.stringify(counts)}`);
      const csp = await panel.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
      assert(csp.length === 0 && panelErrors.length === 0, `CSP violations / errors under the panel's policy: ${[...csp, ...panelErrors].join(' | ')}`);
    });
    await check('ledger panel: the Trim button asks the host for the running environment, shows the answer, and goes with the run', async () => {
      const button = panel.locator('.ledger-trim:not([hidden]) .ledger-trim-button');
      assert(await button.count() === 1, 'no Trim button while the environment runs');
      assert((await button.textContent()) === 'Trim: malloc_trim(0)', `label: ${await button.textContent()}`);
      await button.click();
      const posted = await panel.evaluate(() => (window as unknown as { __posted: { type: string; index?: number }[] }).__posted.filter((m) => m.type === 'trim'));
      assert(posted.length === 1 && posted[0].index === 0, `posted: ${JSON.stringify(posted)}`);
      assert(await button.isDisabled(), 'the button stays enabled while the request is out');
      await send({ type: 'trimmed', index: 0, returnedBytes: 104857600, message: 'glibc (default): RSS 300.0 MiB -> 200.0 MiB, 100.0 MiB returned' });
      await frame();
      assert((await panel.textContent('.ledger-trim-status')) === 'glibc (default): RSS 300.0 MiB -> 200.0 MiB, 100.0 MiB returned', 'answer not shown');
      assert(!(await button.isDisabled()), 'the button is not enabled again after the answer');
      const last = e0.samples.at(-1)!;
      await send({ type: 'event', index: 0, event: { t: last.t, type: 'trim', pid: 1, rssBeforeBytes: 300 * 1048576, rssAfterBytes: 200 * 1048576, returnedBytes: 100 * 1048576, allocator: 'glibc' } });
      await send({ type: 'record', record: { ...run.record, complete: true, environments: [{ ...e0.record, exit: { code: 0, signal: null, expected: true } }] } });
      await frame();
      assert(await panel.locator('.ledger-trim:not([hidden])').count() === 0, 'a Trim button after the run ended');
      assert(panelErrors.length === 0, `errors: ${panelErrors.join(' | ')}`);
    });
    await panel.close();
  } finally {
    server.close();
  }
}

async function main(): Promise<void> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: LAUNCH_ARGS });
  try {
    await reportChecks(browser);
    await longRunChecks(browser);
    await panelChecks(browser);
    await ledgerChecks(browser);
  } finally {
    await browser.close();
    rmSync(work, { recursive: true, force: true });
  }
  // Every check here runs or fails (Chromium is required, not optional), so nothing is ever skipped.
  console.log(`${passed} passed, ${failed} failed, 0 skipped (screenshots in ${outDir})`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  console.log(`${passed} passed, ${failed + 1} failed, 0 skipped`);
  process.exitCode = 1;
});
