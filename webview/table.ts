// The metrics table (one row per environment) and the verdict. Built with DOM calls and textContent only: labels,
// reasons and messages come from files and processes, never from us, so nothing is parsed as HTML.
import { FINDING_TITLES } from '../src/core/analysis/diagnosisText';
import { displayMetrics } from '../src/core/analysis/series';
import type { EnvironmentRecord, ExitInfo, RunEvent, RunRecord, Verification } from '../src/core/model';
import { formatGrowth, formatMiB } from '../src/core/units';
import type { EnvironmentSnapshot } from '../src/protocol/webview';

const COLUMNS = ['Environment', 'Allocator', 'Peak', 'Final', 'Growth', 'Returned after idle', 'Throughput', 'p99', 'Exit'];
// Shown after Growth only when some environment has the probe's figures (a run with --ledger).
const LEDGER_COLUMNS: [string, string][] = [
  ['Final live heap', 'Bytes in live heap blocks at the end of the run (the probe\'s last reading)'],
  ['Free, held by allocator', 'Free memory the allocator kept resident at the end of the run: RSS, but no leak'],
];

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** Creates the empty table (thead once; rows are replaced on every render). */
export function createMetricsTable(): HTMLTableElement {
  const table = el('table');
  table.id = 'metrics';
  table.append(el('thead'), el('tbody'));
  setHead(table, false);
  return table;
}

function setHead(table: HTMLTableElement, ledger: boolean): void {
  if (table.tHead!.rows.length && table.dataset.ledger === String(ledger)) return;
  table.dataset.ledger = String(ledger);
  const tr = el('tr');
  COLUMNS.forEach((c, k) => {
    tr.append(el('th', c));
    if (ledger && k === GROWTH) for (const [name, why] of LEDGER_COLUMNS) {
      const th = el('th', name, 'ledger-col');
      th.title = why;
      tr.append(th);
    }
  });
  table.tHead!.replaceChildren(tr);
}
const GROWTH = COLUMNS.indexOf('Growth');

// While an environment runs, its record has no verification or exit yet; the events already tell.
function verificationOf(rec: EnvironmentRecord, events: RunEvent[]): Verification | null {
  if (rec.verification) return rec.verification;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'verified') return e.verification;
  }
  return null;
}

function exitOf(rec: EnvironmentRecord, events: RunEvent[]): ExitInfo | null {
  if (rec.exit) return rec.exit;
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i];
    if (e.type === 'exit') return { code: e.code, signal: e.signal, expected: e.expected };
  }
  return null;
}

function allocatorCell(v: Verification | null): HTMLTableCellElement {
  const td = el('td');
  if (!v) td.textContent = '-';
  else if (v.applied) {
    td.textContent = 'applied';
    if (v.mappedAllocator) td.title = v.mappedAllocator;
  } else td.append(el('span', `not applied: ${v.notAppliedReason ?? 'unknown reason'}`, 'not-applied'));
  return td;
}

function exitCell(rec: EnvironmentRecord, x: ExitInfo | null, running: boolean): HTMLTableCellElement {
  const td = el('td');
  const how = x ? (x.signal ? `signal ${x.signal}` : x.code != null ? `code ${x.code}` : '') : '';
  if (!x) td.textContent = running ? 'running' : '-';
  else if (x.expected) td.textContent = how ? `stopped (${how})` : 'stopped';
  else {
    td.append(el('span', 'crashed', 'crashed'));
    if (how) td.append(` (${how})`);
  }
  if (rec.error) {
    td.append(el('br'), el('span', rec.error, 'env-error'));
  }
  return td;
}

/** Fills the table body: one row per environment, live rows computed from the samples that arrived. */
export function renderMetrics(table: HTMLTableElement, record: RunRecord, envs: EnvironmentSnapshot[], color: (i: number) => string, live: boolean): void {
  const body = table.tBodies[0];
  const rows: HTMLTableRowElement[] = [];
  const metrics = envs.map((e) => displayMetrics(e.record.metrics, e.samples, e.events));
  const ledger = metrics.some((m) => m?.liveHeapBytes != null);
  setHead(table, ledger);
  envs.forEach((e, i) => {
    const rec = e.record;
    const m = metrics[i];
    const tr = el('tr');
    tr.dataset.env = rec.env;
    const name = el('td');
    const swatch = el('span', undefined, 'swatch');
    swatch.style.background = color(i);
    name.append(swatch, rec.repetition > 1 ? `${rec.label} #${rec.repetition}` : rec.label);
    // What the environment set in the target, for the curious (hover).
    const vars = Object.entries(rec.appliedEnv ?? {}).map(([k, v]) => `${k}=${v}`);
    name.title = vars.length ? vars.join('\n') : 'no variables added (the system allocator)';
    const num = (text: string) => el('td', text, 'num');
    tr.append(
      name,
      allocatorCell(verificationOf(rec, e.events)),
      num(formatMiB(m?.peakRssBytes)),
      num(formatMiB(m?.finalRssBytes)),
      num(formatGrowth(m?.growthBytesPerMin)),
      ...(ledger ? [num(formatMiB(m?.liveHeapBytes)), num(formatMiB(m?.allocatorHeldBytes))] : []),
      num(m?.returnedFraction == null ? '-' : `${(m.returnedFraction * 100).toFixed(0)} %`),
      num(m?.throughputRps == null ? '-' : `${m.throughputRps.toFixed(0)} req/s`),
      num(m?.latencyP99Ms == null ? '-' : `${m.latencyP99Ms.toFixed(1)} ms`),
      exitCell(rec, exitOf(rec, e.events), live && !record.complete),
    );
    rows.push(tr);
  });
  body.replaceChildren(...rows);
}

/** The finding as a badge above the chart (hidden until the run has a diagnosis); the headline is its tooltip. */
export function renderFinding(box: HTMLElement, record: RunRecord): void {
  const d = record.diagnosis;
  box.hidden = !d;
  if (!d) {
    box.replaceChildren();
    return;
  }
  const badge = el('span', FINDING_TITLES[d.finding] ?? d.finding, `badge finding-${d.finding}`);
  badge.dataset.finding = d.finding;
  const confidence = el('span', `${d.confidence} confidence`, `confidence confidence-${d.confidence}`);
  box.title = d.summary;
  box.replaceChildren(badge, confidence);
  if (d.recommendation) box.append(el('span', d.recommendation.setting ? `deploy: ${d.recommendation.setting}` : `deploy: ${d.recommendation.env}`, 'recommendation'));
}

/** The verdict paragraph: the run's own, or what the reader is waiting for. */
export function verdictText(record: RunRecord, live: boolean): string {
  if (record.verdict) return record.verdict;
  if (!record.complete) return live ? 'The verdict comes when the run completes.' : 'The run did not complete (interrupted); the figures are from the samples it recorded.';
  return record.cancelled ? 'The run was cancelled before a verdict.' : 'No verdict for this run.';
}
