// The on-disk run store: one folder per run, append-only files per environment, so a crash of anything loses
// at most the last second of samples. The format is documented in ARCHITECTURE.md.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { computeEnvironmentMetrics } from '../analysis/metrics';
import { judgeRun } from '../analysis/verdict';
import { AlloclabError } from '../errors';
import { readRegularFile } from '../files';
import { RUN_SCHEMA_VERSION, type EnvironmentRecord, type RunEvent, type RunKind, type RunRecord, type Sample } from '../model';
import { checkEvent, checkRunRecord, checkSample } from './schema';

export const RUN_FILE = 'run.json';
export const SAMPLES_FILE = 'samples.ndjson';
export const EVENTS_FILE = 'events.ndjson';

export interface StoredEnvironment { record: EnvironmentRecord; samples: Sample[]; events: RunEvent[] }
export interface StoredRun { dir: string; record: RunRecord; environments: StoredEnvironment[] }
export interface RunSummary {
  dir: string; id: string; name: string; kind: RunKind; createdAt: string; complete: boolean;
  environments: string[]; verdict: string | null;
}

function stamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Wraps a file-system failure in an error that says which folder and what to do. */
function storeError(what: string, target: string, e: unknown): AlloclabError {
  const err = e as NodeJS.ErrnoException;
  const hint = err.code === 'ENOSPC' ? 'the disk is full; free space or pick another folder with --out'
    : err.code === 'EACCES' || err.code === 'EPERM' || err.code === 'EROFS' ? 'it is not writable; pick another folder with --out (or the allocatorLab.runsDirectory setting)'
    : err.message;
  return new AlloclabError(`Cannot ${what} ${target}: ${hint}`, 'environment');
}

/**
 * Creates an empty folder for a new run. An existing folder with anything in it is refused (exit code 2): samples
 * would be appended to an earlier run's and its run.json replaced. Parents are created one at a time, since a
 * recursive mkdir under /proc never returns.
 */
export function createRunFolder(dir: string): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  for (let p = abs; ; p = path.dirname(p)) {
    let st: fs.Stats | null = null;
    try {
      st = fs.statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') throw new AlloclabError(`Cannot create the run folder ${abs}: a part of that path is a file, not a folder. Pick another folder with --out.`, 'input');
      if (code !== 'ENOENT') throw storeError('create the run folder', abs, e);
    }
    if (st) {
      if (!st.isDirectory()) throw new AlloclabError(`Cannot create the run folder ${abs}: ${p} is not a folder. Pick another folder with --out.`, 'input');
      break;
    }
    missing.unshift(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing) {
    try {
      fs.mkdirSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw storeError('create the run folder', abs, e);
    }
  }
  if (!missing.includes(abs)) {
    const holds = fs.readdirSync(abs);
    if (holds.length) {
      const what = holds.includes(RUN_FILE) ? 'an earlier run (it holds run.json)' : `${holds.length} file(s)`;
      throw new AlloclabError(`The run folder ${abs} already exists with ${what}; a new run never writes into it. Give a new folder to --out, or remove that one first.`, 'input');
    }
  }
}

/** Writes a run folder as the run goes. */
export class RunWriter {
  readonly record: RunRecord;

  private constructor(readonly dir: string, record: RunRecord) {
    this.record = record;
  }

  /** Creates `<runsDir>/<timestamp>-<name>/` (or exactly `outDir`) and writes the first run.json. */
  static create(opts: { runsDir: string; outDir?: string; name: string; kind: RunKind; scenarioPath: string | null; scenario: unknown }): RunWriter {
    const now = new Date();
    let dir = opts.outDir ? path.resolve(opts.outDir) : path.join(path.resolve(opts.runsDir), `${stamp(now)}-${opts.name}`);
    if (!opts.outDir) {
      for (let i = 2; fs.existsSync(dir); i++) dir = path.join(path.resolve(opts.runsDir), `${stamp(now)}-${opts.name}-${i}`);
    }
    createRunFolder(dir);
    const record: RunRecord = {
      schemaVersion: RUN_SCHEMA_VERSION,
      id: path.basename(dir),
      name: opts.name,
      kind: opts.kind,
      createdAt: now.toISOString(),
      complete: false,
      cancelled: false,
      host: { hostname: os.hostname(), cpus: os.cpus().length, kernel: os.release(), node: process.version },
      scenarioPath: opts.scenarioPath,
      scenario: opts.scenario,
      environments: [],
      verdict: null,
    };
    const w = new RunWriter(dir, record);
    w.save();
    return w;
  }

  /** Adds an environment and creates its folder (`01-glibc`, `02-jemalloc-r2`, ...). */
  addEnvironment(env: Omit<EnvironmentRecord, 'dir'>): EnvironmentRecord {
    const n = String(this.record.environments.length + 1).padStart(2, '0');
    const dirName = `${n}-${env.env}${env.repetition > 1 ? `-r${env.repetition}` : ''}`;
    try {
      fs.mkdirSync(path.join(this.dir, dirName), { recursive: true });
    } catch (e) {
      throw storeError('create the environment folder in', this.dir, e);
    }
    const rec: EnvironmentRecord = { ...env, dir: dirName };
    this.record.environments.push(rec);
    this.save();
    return rec;
  }

  envPath(rec: EnvironmentRecord, file: string): string {
    return path.join(this.dir, rec.dir, file);
  }

  /** Appends one event line; events are rare, so each is written through at once. */
  appendEvent(rec: EnvironmentRecord, event: RunEvent): void {
    try {
      fs.appendFileSync(this.envPath(rec, EVENTS_FILE), JSON.stringify(event) + '\n');
    } catch (e) {
      throw storeError('write events to', this.envPath(rec, EVENTS_FILE), e);
    }
  }

  /** Rewrites run.json atomically (write then rename), so a crash leaves the old or the new one. */
  save(): void {
    const file = path.join(this.dir, RUN_FILE);
    const tmp = `${file}.tmp`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(this.record, null, 2) + '\n');
      fs.renameSync(tmp, file);
    } catch (e) {
      throw storeError('write', file, e);
    }
  }
}

/**
 * Appends an event to an environment of a run folder that another process may be writing (`alloclab trim
 * RUN_DIR`): one append of one line, which does not interleave with the writer's own appends.
 */
export function appendEventToRun(dir: string, env: EnvironmentRecord, event: RunEvent): void {
  const file = path.join(dir, env.dir, EVENTS_FILE);
  try {
    fs.appendFileSync(file, JSON.stringify(event) + '\n');
  } catch (e) {
    throw storeError('write events to', file, e);
  }
}

/** Reads an ndjson file, skipping a torn last line (the writer died mid-line); a missing file reads as empty. */
export function readNdjson<T>(file: string): T[] {
  let text: string;
  try {
    text = readRegularFile(file);
  } catch {
    return [];
  }
  return parseNdjson<T>(text);
}

/** One JSON value per line; a line that does not parse (torn by a crash mid-write) is skipped. */
export function parseNdjson<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // A line cut by a crash: everything before it is kept.
    }
  }
  return out;
}

/** The valid lines of an ndjson file; a torn, null or foreign line is skipped and counted. */
function readCheckedLines<T>(file: string, check: (value: unknown) => T | null): { values: T[]; skipped: number } {
  const values: T[] = [];
  let skipped = 0;
  for (const v of readNdjson<unknown>(file)) {
    const ok = check(v);
    if (ok) values.push(ok);
    else skipped++;
  }
  return { values, skipped };
}

function readRunFile(dir: string): RunRecord {
  const file = path.join(dir, RUN_FILE);
  let value: unknown;
  try {
    value = JSON.parse(readRegularFile(file));
  } catch (e) {
    throw new AlloclabError(`${dir} is not a readable Allocator Lab run (${file}: ${(e as Error).message}). Runs live in .alloclab/runs/.`, 'input');
  }
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === 'number' && version > RUN_SCHEMA_VERSION) {
    throw new AlloclabError(`${file} has schema version ${version}; this Allocator Lab reads up to ${RUN_SCHEMA_VERSION}. Update Allocator Lab.`, 'input');
  }
  const checked = checkRunRecord(value);
  if ('problem' in checked) throw new AlloclabError(`${file} is not a valid Allocator Lab run: ${checked.problem}. The file was damaged or edited by hand.`, 'input');
  return checked.record;
}

/**
 * Opens a run folder, also an interrupted one: missing metrics are recomputed from the samples, and a verification
 * recorded only as an event (the run was killed before run.json was rewritten) is taken from the events.
 */
export function openRun(dir: string): StoredRun {
  const record = readRunFile(dir);
  const environments = record.environments.map((env) => {
    const samples = readCheckedLines(path.join(dir, env.dir, SAMPLES_FILE), checkSample).values;
    const events = readCheckedLines(path.join(dir, env.dir, EVENTS_FILE), checkEvent).values;
    if (!env.verification) {
      const verified = events.findLast((e) => e.type === 'verified');
      if (verified?.type === 'verified') env.verification = verified.verification;
    }
    // Metrics from before the trajectories existed are recomputed too, so the diagnosis below has what it needs.
    if ((!env.metrics || env.metrics.trajectory === undefined) && samples.length) env.metrics = computeEnvironmentMetrics(samples, events);
    return { record: env, samples, events };
  });
  // A finished run from before the diagnosis existed is judged with the current analysis (fields are added, never lost).
  if (record.complete && record.diagnosis === undefined) judgeRun(record);
  return { dir, record, environments };
}

/** Runs under a runs folder, newest first. Unreadable folders are skipped. */
export function listRuns(runsDir: string): RunSummary[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir);
  } catch {
    return [];
  }
  const out: RunSummary[] = [];
  for (const name of names) {
    const dir = path.join(runsDir, name);
    try {
      const r = readRunFile(dir);
      out.push({
        dir, id: r.id, name: r.name, kind: r.kind, createdAt: r.createdAt, complete: r.complete,
        environments: r.environments.map((e) => e.env), verdict: r.verdict,
      });
    } catch {
      continue;
    }
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** Deletes a run folder (only one that holds a run.json, so a wrong path cannot remove anything else). */
export function deleteRun(dir: string): void {
  if (!fs.existsSync(path.join(dir, RUN_FILE))) throw new AlloclabError(`${dir} is not a run folder (no ${RUN_FILE}).`, 'input');
  fs.rmSync(dir, { recursive: true, force: true });
}
