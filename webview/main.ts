// The run panel. Two homes: inside a VS Code webview (data arrives by postMessage; exports go to the host, which
// shows a save dialog) and in the standalone HTML report (data embedded as JSON; exports are downloads).
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { exportFileName, samplesCsv } from '../src/core/analysis/series';
import type { RunEvent } from '../src/core/model';
import { isRunSnapshot, isToWebview, type ExportFormat, type FromWebview, type RunSnapshot, type ToWebview } from '../src/protocol/webview';
import { RssChart } from './chart';
import { renderHotspots } from './hotspots';
import { LedgerCharts } from './ledger';
import { createMetricsTable, renderFinding, renderMetrics, verdictText } from './table';
import { readTheme, watchTheme, type Theme } from './theme';

interface VsCodeApi { postMessage(message: FromWebview): void; setState(state: unknown): void; getState(): unknown }
declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

const vscode: VsCodeApi | null = typeof acquireVsCodeApi === 'function' ? acquireVsCodeApi() : null;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text != null) e.textContent = text;
  return e;
}

// ---- layout ---------------------------------------------------------------------------------------------------
const title = el('h1', { id: 'title' }, 'Allocator Lab');
const status = el('span', { id: 'status' });
const toolbar = el('div', { class: 'toolbar' });
const exportButtons: Record<ExportFormat, HTMLButtonElement> = {
  png: el('button', { id: 'export-png', title: 'Save the chart as a PNG image' }, 'Export PNG'),
  csv: el('button', { id: 'export-csv', title: 'Save every sample as CSV' }, 'Export CSV'),
  json: el('button', { id: 'export-json', title: 'Save the run record as JSON' }, 'Export JSON'),
};
toolbar.append(...Object.values(exportButtons));
const header = el('header');
header.append(el('div', { class: 'heading' }), toolbar);
header.firstElementChild!.append(title, status);
const meta = el('p', { id: 'meta' });
const legend = el('div', { id: 'legend', role: 'group', 'aria-label': 'Environments (click to show or hide)' });
const chartBox = el('div', { id: 'chart' });
const readout = el('div', { id: 'readout' }, 'Hover for values; drag to zoom, double-click to reset.');
const ledgerBox = el('section', { id: 'ledger', 'aria-label': 'RSS ledger per environment' });
const finding = el('div', { id: 'finding', role: 'status' });
finding.hidden = true;
const verdict = el('p', { id: 'verdict' });
const notes = el('ul', { id: 'notes' });
const table = createMetricsTable();
const exportStatus = el('p', { id: 'export-status' });
const hotspotsBox = el('section', { id: 'hotspots' });
hotspotsBox.hidden = true;
document.body.append(header, meta, finding, legend, chartBox, readout, ledgerBox, verdict, notes, table, hotspotsBox, exportStatus);

const chart = new RssChart(chartBox, readout);
const ledger = new LedgerCharts(ledgerBox, vscode ? (index) => vscode.postMessage({ type: 'trim', index }) : undefined);

/** What VS Code keeps for a webview across hide/show and reloads: the run folder (the serializer's key) and the legend. */
interface PanelState { runDir?: string; hidden?: number[] }
function readState(): PanelState {
  const s = vscode?.getState();
  return typeof s === 'object' && s !== null ? (s as PanelState) : {};
}
function saveState(patch: PanelState): void {
  if (vscode) vscode.setState({ ...readState(), ...patch });
}
// The webview is rebuilt each time its tab is shown again: keep the series the user had hidden.
for (const i of readState().hidden ?? []) if (Number.isInteger(i) && i >= 0) chart.setVisible(i, false);
let theme: Theme = readTheme();
let run: RunSnapshot | null = null;

// ---- rendering ------------------------------------------------------------------------------------------------
let renderPending = false;
/**
 * Samples arrive several times a second per environment: draw at most every 40 ms. A timer, not
 * requestAnimationFrame, because Chromium may stop animation frames in an iframe it considers hidden, and the
 * panel must be current the moment it shows.
 */
function scheduleRender(): void {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => {
    renderPending = false;
    render();
  }, 40);
}

function statusText(r: RunSnapshot): string {
  if (r.record.complete) return r.record.cancelled ? 'cancelled' : 'complete';
  return r.live ? 'running' : 'interrupted';
}

/** When, where and what: a standalone report travels without the run folder, so it says this itself. */
function metaText(r: RunSnapshot): string {
  const rec = r.record;
  const when = new Date(rec.createdAt);
  const date = Number.isNaN(when.getTime()) ? rec.createdAt : `${when.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const h = rec.host;
  const host = h && typeof h.hostname === 'string' ? `${h.hostname} (${h.cpus} CPUs, Linux ${h.kernel})` : '';
  return [rec.kind, date, host, `${rec.environments.length} environment${rec.environments.length === 1 ? '' : 's'}`].filter(Boolean).join('  ·  ');
}

function renderLegend(r: RunSnapshot): void {
  const items = r.environments.map((e, i) => {
    const b = el('button', { class: 'legend-item', 'data-index': String(i), 'aria-pressed': String(chart.isVisible(i)) });
    if (!chart.isVisible(i)) b.classList.add('off');
    const sw = el('span', { class: 'swatch' });
    sw.style.background = chart.color(i);
    b.append(sw, e.record.repetition > 1 ? `${e.record.label} #${e.record.repetition}` : e.record.label);
    return b;
  });
  legend.replaceChildren(...items);
}

function renderNotes(r: RunSnapshot): void {
  const items: HTMLLIElement[] = [];
  r.environments.forEach((e) => {
    for (const ev of e.events) {
      if (ev.type === 'note' && ev.level !== 'info') items.push(el('li', { class: ev.level }, `${e.record.label}: ${ev.message}`));
    }
  });
  notes.replaceChildren(...items);
}

function render(): void {
  if (!run) return;
  title.textContent = run.record.name;
  title.title = run.dir ?? run.record.id;
  status.textContent = statusText(run);
  status.className = `status-${statusText(run)}`;
  meta.textContent = metaText(run);
  chart.update(run.environments, theme);
  ledger.update(run.environments, theme, !!run.live);
  renderLegend(run);
  renderMetrics(table, run.record, run.environments, (i) => chart.color(i), !!run.live);
  renderFinding(finding, run.record);
  verdict.textContent = verdictText(run.record, !!run.live);
  renderNotes(run);
}

legend.addEventListener('click', (ev) => {
  const item = (ev.target as HTMLElement).closest<HTMLElement>('.legend-item');
  if (!item) return;
  const i = Number(item.dataset.index);
  const show = !chart.isVisible(i);
  chart.setVisible(i, show);
  item.classList.toggle('off', !show);
  item.setAttribute('aria-pressed', String(show));
  saveState({ hidden: (run?.environments ?? []).map((_e, k) => k).filter((k) => !chart.isVisible(k)) });
});

// ---- messages -------------------------------------------------------------------------------------------------
function apply(msg: ToWebview): void {
  switch (msg.type) {
    case 'snapshot':
      run = msg.run;
      // The panel serializer restores the panel from this state after a reload.
      if (run.dir) saveState({ runDir: run.dir });
      break;
    case 'record': {
      if (!run) return;
      run.record = msg.record;
      msg.record.environments.forEach((rec, i) => {
        const e = run!.environments[i];
        if (e) e.record = rec; else run!.environments[i] = { record: rec, samples: [], events: [] };
      });
      if (msg.record.complete) run.live = false;
      break;
    }
    case 'samples': {
      const e = run?.environments[msg.index];
      if (!e) return;
      for (const s of msg.samples) e.samples.push(s);
      break;
    }
    case 'event': {
      const e = run?.environments[msg.index];
      if (!e) return;
      e.events.push(msg.event as RunEvent);
      break;
    }
    case 'theme':
      theme = readTheme();
      break;
    case 'exported':
      exportStatus.textContent = msg.file ? `Saved ${msg.file}` : '';
      return;
    case 'trimmed':
      ledger.trimmed(msg.index, msg.message);
      return;
    case 'hotspots':
      renderHotspots(hotspotsBox, msg.tables, (file, line) => vscode?.postMessage({ type: 'openSource', file, line }));
      return;
  }
  scheduleRender();
}

if (vscode) {
  window.addEventListener('message', (ev: MessageEvent<unknown>) => {
    if (!isToWebview(ev.data)) {
      const type = typeof ev.data === 'object' && ev.data && 'type' in ev.data ? String((ev.data as { type: unknown }).type) : typeof ev.data;
      vscode.postMessage({ type: 'log', level: 'warning', message: `run panel ignored an invalid message (type ${type})` });
      return;
    }
    apply(ev.data);
  });
  vscode.postMessage({ type: 'ready' });
} else {
  const script = document.getElementById('alloclab-data');
  let data: unknown = null;
  try {
    data = script?.textContent ? JSON.parse(script.textContent) : null;
  } catch {
    data = null;
  }
  if (isRunSnapshot(data)) apply({ type: 'snapshot', run: data });
  else verdict.textContent = 'This report holds no readable run data.';
}

watchTheme(() => {
  const next = readTheme();
  if (JSON.stringify(next) === JSON.stringify(theme)) return;
  theme = next;
  scheduleRender();
});

// ---- export ---------------------------------------------------------------------------------------------------
function exportData(format: ExportFormat): { data: string; mime: string } {
  if (!run) throw new Error('no run loaded');
  switch (format) {
    case 'png':
      return { data: chart.toPng(run.record.name), mime: 'image/png' };
    case 'csv':
      return {
        data: samplesCsv(run.environments.map((e) => ({ env: e.record.env, label: e.record.label, repetition: e.record.repetition, samples: e.samples }))),
        mime: 'text/csv',
      };
    case 'json':
      return { data: JSON.stringify(run.record, null, 2) + '\n', mime: 'application/json' };
  }
}

function download(name: string, data: string, mime: string): void {
  const href = data.startsWith('data:') ? data : URL.createObjectURL(new Blob([data], { type: mime }));
  const a = el('a', { href, download: name }, `Download ${name}`);
  exportStatus.replaceChildren(a);
  a.click();
}

for (const [format, button] of Object.entries(exportButtons) as [ExportFormat, HTMLButtonElement][]) {
  button.addEventListener('click', () => {
    if (!run) return;
    try {
      const { data, mime } = exportData(format);
      const suggestedName = exportFileName(run.record.id, format);
      if (vscode) vscode.postMessage({ type: 'export', format, data, suggestedName });
      else download(suggestedName, data, mime);
    } catch (e) {
      exportStatus.textContent = `Export failed: ${(e as Error).message}`;
    }
  });
}
