// The messages between the run panel's host (src/vscode/panel) and its webview (webview/). Both sides import this
// file, and both validate what arrives with the guards below: a webview message is untrusted input, and a
// host message may come from an older or newer extension after a reload. Types only plus small hand-written
// guards (no zod), so the webview bundle stays small.
import type { EnvironmentRecord, EnvironmentSnapshot, RunEvent, RunRecord, RunSnapshot, Sample } from '../core/model';

// The run as the panel and the report see it lives in core/model.ts (the report is written by core).
export type { EnvironmentSnapshot, RunSnapshot } from '../core/model';

export const RUN_PANEL_VIEW_TYPE = 'alloclab.run';

export type ExportFormat = 'png' | 'csv' | 'json';

/** One row of the panel's hotspot table. `openFile` is the local file to open (null: not on this machine). */
export interface PanelHotspotRow {
  rank: number;
  function: string | null;
  file: string | null;
  line: number | null;
  openFile: string | null;
  /** The backend's figures, e.g. "+12.3 MiB/min · 1.2M allocs · 48.0 MiB at peak". */
  figures: string;
}

/** The allocation sites of a profiled run's environment (its profile.json), ranked. */
export interface PanelHotspots {
  environment: string;
  backend: string;
  ranking: string;
  sampled: boolean;
  rows: PanelHotspotRow[];
  warnings: string[];
}

/** Host -> webview. */
export type ToWebview =
  /** The full state; replaces whatever the webview shows (sent on ready and when the panel becomes visible). */
  | { type: 'snapshot'; run: RunSnapshot }
  /** New samples of environment `index`, appended in time order. */
  | { type: 'samples'; index: number; samples: Sample[] }
  | { type: 'event'; index: number; event: RunEvent }
  /** The run record changed (an environment started or finished, metrics, verdict, complete). */
  | { type: 'record'; record: RunRecord }
  /** The colour theme changed; re-read the CSS variables. */
  | { type: 'theme' }
  /** The hotspot table of a run that has a profile (sent after the snapshot; empty list: no profile). */
  | { type: 'hotspots'; tables: PanelHotspots[] }
  /** Result of an export the webview asked for. */
  | { type: 'exported'; format: ExportFormat; file: string | null }
  /** Answer to a trim request: what came back, or why nothing could be asked. */
  | { type: 'trimmed'; index: number; returnedBytes: number | null; message: string };

/** Webview -> host. */
export type FromWebview =
  | { type: 'ready' }
  /** `data` is text for csv/json and a `data:image/png;base64,` URL for png. */
  | { type: 'export'; format: ExportFormat; data: string; suggestedName: string }
  | { type: 'openSource'; file: string; line: number }
  /** Ask the running target of environment `index`, through its probe, to give free memory back (malloc_trim). */
  | { type: 'trim'; index: number }
  | { type: 'log'; level: 'info' | 'warning' | 'error'; message: string };

// ---- guards ---------------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isStr = (x: unknown): x is string => typeof x === 'string';
const isIndex = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) < 10_000;
const optNum = (x: unknown) => x === undefined || isNum(x);
const nullOr = <T>(g: (x: unknown) => x is T) => (x: unknown): x is T | null => x === null || g(x);

const SAMPLE_OPTIONAL = ['anonBytes', 'fileBytes', 'shmemBytes', 'pssBytes', 'cpuMs', 'threads', 'processes', 'liveHeapBytes', 'allocatorHeldBytes',
  'threadStacksBytes', 'allocatorMetadataBytes', 'directMmapBytes', 'lazyFreeBytes', 'probeOverheadBytes', 'otherAnonBytes', 'allocatorFiguresAgeMs'];

/** A Sample: finite t and rssBytes, optional numeric fields numeric when present. */
export function isSample(x: unknown): x is Sample {
  return isObj(x) && isNum(x.t) && isNum(x.rssBytes) && SAMPLE_OPTIONAL.every((k) => optNum(x[k]));
}

const PHASE_KINDS = ['warmup', 'load', 'idle'];
const NOTE_LEVELS = ['info', 'warning', 'error'];

/** A RunEvent: known type, finite t, and the fields the panel reads with the right types. */
export function isRunEvent(x: unknown): x is RunEvent {
  if (!isObj(x) || !isNum(x.t) || !isStr(x.type)) return false;
  switch (x.type) {
    case 'spawn': return isNum(x.pid) && isStr(x.command) && Array.isArray(x.args);
    case 'ready': return isStr(x.how);
    case 'verified': return isObj(x.verification) && typeof x.verification.applied === 'boolean';
    case 'phase-start': return isStr(x.phase) && PHASE_KINDS.includes(x.kind as string) && isNum(x.index);
    case 'phase-end': return isStr(x.phase) && PHASE_KINDS.includes(x.kind as string) && isNum(x.index) && (x.load === undefined || isObj(x.load));
    case 'exit': return (x.code === null || isNum(x.code)) && (x.signal === null || isStr(x.signal)) && typeof x.expected === 'boolean';
    case 'debug-stop': return isStr(x.reason) && (x.description === undefined || isStr(x.description));
    case 'trim': return isNum(x.pid) && isNum(x.rssBeforeBytes) && isNum(x.rssAfterBytes) && isNum(x.returnedBytes) && isStr(x.allocator);
    case 'note': return NOTE_LEVELS.includes(x.level as string) && isStr(x.message);
    default: return false;
  }
}

function isMetrics(x: unknown): boolean {
  return isObj(x) && isNum(x.peakRssBytes) && isNum(x.finalRssBytes) && Array.isArray(x.phases)
    && ['growthBytesPerMin', 'returnedFraction', 'throughputRps', 'latencyP99Ms'].every((k) => x[k] === null || x[k] === undefined || isNum(x[k]));
}

/** An EnvironmentRecord, checked in the fields the panel shows. */
export function isEnvironmentRecord(x: unknown): x is EnvironmentRecord {
  return isObj(x) && isStr(x.env) && isStr(x.label) && isStr(x.dir)
    && (x.verification === null || (isObj(x.verification) && typeof x.verification.applied === 'boolean'))
    && (x.exit === null || (isObj(x.exit) && typeof x.exit.expected === 'boolean' && (x.exit.code === null || isNum(x.exit.code)) && (x.exit.signal === null || isStr(x.exit.signal))))
    && nullOr(isStr)(x.error)
    && (x.metrics === null || isMetrics(x.metrics));
}

/** A RunRecord, checked in the fields the panel shows. */
export function isRunRecord(x: unknown): x is RunRecord {
  return isObj(x) && isNum(x.schemaVersion) && isStr(x.id) && isStr(x.name) && isStr(x.createdAt)
    && typeof x.complete === 'boolean' && Array.isArray(x.environments) && x.environments.every(isEnvironmentRecord)
    && nullOr(isStr)(x.verdict)
    && (x.diagnosis === undefined || x.diagnosis === null || (isObj(x.diagnosis) && isStr(x.diagnosis.finding) && isStr(x.diagnosis.confidence) && isStr(x.diagnosis.summary)));
}

function isEnvironmentSnapshot(x: unknown): x is EnvironmentSnapshot {
  return isObj(x) && isEnvironmentRecord(x.record) && Array.isArray(x.samples) && x.samples.every(isSample)
    && Array.isArray(x.events) && x.events.every(isRunEvent);
}

/** A RunSnapshot (also what the standalone report embeds). */
export function isRunSnapshot(x: unknown): x is RunSnapshot {
  return isObj(x) && (x.dir === undefined || isStr(x.dir)) && (x.live === undefined || typeof x.live === 'boolean') && isRunRecord(x.record)
    && Array.isArray(x.environments) && x.environments.every(isEnvironmentSnapshot);
}

function isHotspotRow(x: unknown): x is PanelHotspotRow {
  return isObj(x) && isNum(x.rank) && nullOr(isStr)(x.function) && nullOr(isStr)(x.file) && (x.line === null || isNum(x.line))
    && nullOr(isStr)(x.openFile) && isStr(x.figures);
}

/** A PanelHotspots table. */
export function isPanelHotspots(x: unknown): x is PanelHotspots {
  return isObj(x) && isStr(x.environment) && isStr(x.backend) && isStr(x.ranking) && typeof x.sampled === 'boolean'
    && Array.isArray(x.rows) && x.rows.every(isHotspotRow) && Array.isArray(x.warnings) && x.warnings.every(isStr);
}

const FORMATS = ['png', 'csv', 'json'];

/** Validates a message arriving in the webview. */
export function isToWebview(x: unknown): x is ToWebview {
  if (!isObj(x)) return false;
  switch (x.type) {
    case 'snapshot': return isRunSnapshot(x.run);
    case 'samples': return isIndex(x.index) && Array.isArray(x.samples) && x.samples.every(isSample);
    case 'event': return isIndex(x.index) && isRunEvent(x.event);
    case 'record': return isRunRecord(x.record);
    case 'theme': return true;
    case 'hotspots': return Array.isArray(x.tables) && x.tables.every(isPanelHotspots);
    case 'exported': return FORMATS.includes(x.format as string) && (x.file === null || isStr(x.file));
    case 'trimmed': return isIndex(x.index) && (x.returnedBytes === null || isNum(x.returnedBytes)) && isStr(x.message);
    default: return false;
  }
}

/** Validates a message arriving in the host from the webview. */
export function isFromWebview(x: unknown): x is FromWebview {
  if (!isObj(x)) return false;
  switch (x.type) {
    case 'ready': return true;
    case 'export':
      return FORMATS.includes(x.format as string) && isStr(x.data) && isStr(x.suggestedName)
        // The name ends up in a save dialog: a plain file name, never a path.
        && /^[\w.-]{1,200}$/.test(x.suggestedName)
        && (x.format !== 'png' || x.data.startsWith('data:image/png;base64,'));
    case 'openSource': return isStr(x.file) && x.file.length > 0 && Number.isInteger(x.line) && (x.line as number) >= 1;
    case 'trim': return isIndex(x.index);
    case 'log': return NOTE_LEVELS.includes(x.level as string) && isStr(x.message);
    default: return false;
  }
}
