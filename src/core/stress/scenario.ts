// The scenario file (*.alloclab.json, JSON with comments): defined once here in zod; the JSON schema shipped
// in the package is generated from this definition. Extend it by adding optional fields, never by renaming.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
// The ESM build: esbuild cannot follow the UMD build's dynamic requires (./impl/format) when bundling.
import * as jsonc from 'jsonc-parser/lib/esm/main.js';
import { z } from 'zod';
import { ScenarioError } from '../errors';
import { readRegularFile } from '../files';
import { listBackends } from '../profilers/backends';
import { parseDuration } from '../units';
import { driverFor, LOAD_SCHEMAS } from './drivers';
import { duration, listsSchema, type ListSource } from './fields';
import { parseFailOn } from './thresholds';

export { listsSchema, type ListSource } from './fields';
export { commandLoadSchema, httpLoadSchema, type CommandLoadSpec, type HttpLoadSpec } from './drivers';

export const readySchema = z
  .object({
    tcpPort: z.union([z.number().int().min(1).max(65535), z.literal('${port}')]).optional()
      .describe('Ready when this TCP port on 127.0.0.1 accepts connections.'),
    httpUrl: z.string().optional().describe('Ready when a GET of this URL answers (any HTTP status below 500).'),
    logLine: z.string().optional().describe('Ready when the target prints a line (stdout or stderr) matching this regular expression.'),
    delay: duration.optional().describe('Ready after this delay.'),
    timeout: duration.default('30s').describe('Give up when the target is not ready after this long.'),
  })
  .strict()
  .describe('How to know the target is ready. Give one of tcpPort, httpUrl, logLine, delay.');

export const loadSchema = z.discriminatedUnion('driver', LOAD_SCHEMAS);

export const phaseSchema = z
  .object({
    name: z.string().min(1).describe('Phase name, shown in charts and reports.'),
    kind: z.enum(['warmup', 'load', 'idle']).describe('warmup and load run the load; idle runs none, to see whether memory comes back.'),
    duration: duration.optional().describe('How long the phase lasts; with requests, the most it may last (default 10m then).'),
    requests: z.number().int().positive().optional().describe('End the phase after this many requests (built-in HTTP driver), or at duration, whichever comes first.'),
    repeat: z.number().int().min(1).max(1000).optional().describe('Run this phase N times in a row (named NAME#1..NAME#N).'),
    load: loadSchema.optional().describe('The load to drive during this phase (warmup and load phases).'),
  })
  .strict()
  .describe('One phase of the run: warmup, load or idle.');

export const buildSchema = z
  .object({
    command: z.string().min(1).describe('Build command run once before the run (e.g. make).'),
    args: z.array(z.string()).default([]).describe('Arguments, passed as they are (no shell).'),
    cwd: z.string().optional().describe('Working directory, relative to the scenario file.'),
  })
  .strict()
  .describe('Build the target first (once per run).');

export const targetSchema = z
  .object({
    command: z.string().min(1).describe('The binary to run: absolute, relative to the scenario file, or found on PATH.'),
    args: z.array(z.string()).default([]).describe('Arguments, passed as they are (no shell). ${port} is replaced.'),
    cwd: z.string().optional().describe('Working directory, relative to the scenario file. Default: the scenario file\'s folder.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment variables for the target.'),
    ready: readySchema.optional(),
    build: buildSchema.optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    $schema: z.string().optional().describe('The JSON schema of this file (for editors).'),
    name: z.string().min(1).regex(/^[\w.-]+$/, 'letters, digits, dot, dash, underscore').describe('Scenario name (letters, digits, dot, dash, underscore); names the run folders.'),
    description: z.string().optional().describe('What this scenario reproduces.'),
    target: targetSchema.describe('The service under test.'),
    environments: z.array(z.string()).min(1).default(['glibc', 'jemalloc']).describe('Allocator environment ids (see `alloclab allocators`).'),
    sampling: z
      .object({ intervalMs: z.number().min(5).max(10000).default(50).describe('Milliseconds between two RSS samples.') })
      .strict()
      .default({ intervalMs: 50 })
      .describe('How often memory is sampled.'),
    phases: z.array(phaseSchema).min(1).describe('The phases, run in order for every environment.'),
    repeat: z.number().int().min(1).max(100).default(1).describe('Runs per environment (repetitions show the noise).'),
    failOn: z.string().optional()
      .describe('Thresholds that fail the run, comma separated: growth>5MiB/min, peak>+20% (relative to the baseline), final>1GiB, p99>200ms, throughput<-10%, returned<50%.'),
    lists: listsSchema.optional(),
    allowRemoteTargets: z.boolean().default(false).describe('Allow load to non-loopback addresses (the CLI also needs --allow-remote).'),
    ledger: z.boolean().default(false).describe('Preload the Allocator Lab probe to split RSS into live heap and free memory held by the allocator (costs a few percent of throughput; not for static binaries).'),
    profile: z
      .object({
        backend: z.string().min(1).optional().describe('Attribution backend for `alloclab profile` (see `alloclab profile --help`): probe-sampled (default where the probe applies: keeps the allocator), jemalloc-prof, heaptrack, massif.'),
        intervalBytes: z.number().int().min(1).max(2 ** 40).optional().describe('probe-sampled: mean bytes between samples (default 524288; smaller is finer and costs more).'),
        unwinder: z.enum(['auto', 'fp', 'libunwind', 'gcc']).optional().describe('probe-sampled: how stacks are captured (default auto: frame pointers where they agree with the unwinder, else libunwind, else _Unwind_Backtrace).'),
        maxDepth: z.number().int().min(1).max(128).optional().describe('probe-sampled: frames kept per stack (default 64).'),
      })
      .strict()
      .optional()
      .describe('How `alloclab profile SCENARIO` records hotspots.'),
    untilSettled: z.boolean().default(false)
      .describe('End each phase once what it is there to show is settled (warm-up: start-up over; load: the trajectory class of RSS and live heap; idle: memory no longer coming back). Durations become upper bounds (CLI: --until-settled).'),
  })
  .strict()
  .describe('An Allocator Lab scenario: the target, allocator environments, and load phases.');

type RawScenario = z.infer<typeof scenarioSchema>;
type RawPhase = z.infer<typeof phaseSchema>;
/** A phase as validated: duration is always set (a requests-bounded phase gets the default maximum). */
export type Phase = Omit<RawPhase, 'duration'> & { duration: string };
export type Scenario = Omit<RawScenario, 'phases'> & { phases: Phase[] };
export type LoadSpec = z.infer<typeof loadSchema>;
export type ReadySpec = z.infer<typeof readySchema>;
export type TargetSpec = z.infer<typeof targetSchema>;
export type BuildSpec = z.infer<typeof buildSchema>;

/** Most a phase bounded by `requests` lasts when it gives no duration. */
export const DEFAULT_MAX_PHASE_DURATION = '10m';

/** A scenario read from disk, with the folder its relative paths resolve against. */
export interface LoadedScenario {
  file: string | null;
  baseDir: string;
  scenario: Scenario;
}

/**
 * Parses scenario text; every problem becomes a ScenarioError naming file, line and column. With baseDir, list
 * files are also checked to exist (relative paths resolve against it).
 */
export function parseScenarioText(text: string, file: string, baseDir?: string): Scenario {
  const errors: jsonc.ParseError[] = [];
  const tree = jsonc.parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length || !tree) {
    const e = errors[0];
    const { line, column } = position(text, e?.offset ?? 0);
    throw new ScenarioError(file, line, column, `invalid JSON: ${e ? jsonc.printParseErrorCode(e.error) : 'empty file'}`);
  }
  const value = jsonc.getNodeValue(tree);
  const result = scenarioSchema.safeParse(value);
  if (result.success) {
    const problem = checkScenario(result.data) ?? (baseDir !== undefined ? checkListFiles(result.data, baseDir) : null);
    if (problem) {
      const { line, column } = position(text, problemOffset(text, tree, problem));
      throw new ScenarioError(file, line, column, problem.message);
    }
    return resolveScenario(result.data);
  }
  const issue = result.error.issues[0];
  const keyPath = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  // Point at the deepest node that exists (an unknown key points at the key itself).
  let node: jsonc.Node | undefined;
  let target = keyPath;
  if (issue.code === 'unrecognized_keys') {
    const parent = jsonc.findNodeAtLocation(tree, keyPath);
    const prop = parent?.children?.find((c) => c.children?.[0]?.value === issue.keys[0]);
    node = prop?.children?.[0];
  }
  for (let n = keyPath.length; !node && n >= 0; n--) {
    target = keyPath.slice(0, n);
    node = jsonc.findNodeAtLocation(tree, target);
  }
  const { line, column } = position(text, node?.offset ?? 0);
  const where = keyPath.length ? keyPath.join('.') : 'scenario';
  throw new ScenarioError(file, line, column, `${where}: ${issue.message}`);
}

/** A problem zod cannot see, at a JSON path (and, for templates, at an index inside that string value). */
interface Problem {
  path: (string | number)[];
  message: string;
  /** 0-based index into the decoded string at path. */
  stringIndex?: number;
}

function checkScenario(s: RawScenario): Problem | null {
  if (s.profile?.backend !== undefined) {
    const known = listBackends().map((b) => b.id);
    if (!known.includes(s.profile.backend)) return { path: ['profile', 'backend'], message: `unknown attribution backend "${s.profile.backend}"; known: ${known.join(', ')}` };
  }
  if (s.failOn !== undefined) {
    try {
      parseFailOn(s.failOn);
    } catch (e) {
      return { path: ['failOn'], message: `failOn: ${(e as Error).message}` };
    }
  }
  for (const [i, phase] of s.phases.entries()) {
    const at = (...rest: (string | number)[]) => ['phases', i, ...rest];
    if (phase.duration === undefined && phase.requests === undefined) {
      return { path: at(), message: `phase "${phase.name}" needs a duration (or requests, to end after that many requests)` };
    }
    if (phase.duration !== undefined && parseDuration(phase.duration) <= 0) {
      return { path: at('duration'), message: 'phase duration must be greater than zero' };
    }
    if (phase.kind === 'idle' && phase.load) {
      return { path: at('load'), message: 'an idle phase runs no load; remove "load" or make the phase kind "load"' };
    }
    const driver = phase.load ? driverFor(phase.load) : null;
    if (phase.requests !== undefined && !driver?.countsRequests) {
      return { path: at('requests'), message: 'requests needs a built-in HTTP load ("load": { "driver": "http", ... }) in the same phase' };
    }
    if (!phase.load || !driver) continue;
    const problem = driver.check?.(phase.load, new Set(Object.keys(s.lists ?? {})));
    if (problem) return { ...problem, path: at('load', ...problem.path) };
  }
  return null;
}

function checkListFiles(s: RawScenario, baseDir: string): Problem | null {
  const declared: [(string | number)[], Record<string, ListSource> | undefined][] = [[['lists'], s.lists]];
  for (const [i, p] of s.phases.entries()) if (p.load) declared.push([['phases', i, 'load', 'lists'], driverFor(p.load).lists?.(p.load)]);
  for (const [at, lists] of declared) {
    for (const [name, source] of Object.entries(lists ?? {})) {
      if (Array.isArray(source)) continue;
      const abs = path.resolve(baseDir, source.file);
      if (!existsSync(abs)) return { path: [...at, name, 'file'], message: `list "${name}": ${abs} does not exist (paths are relative to the scenario file)` };
    }
  }
  return null;
}

function problemOffset(text: string, tree: jsonc.Node, problem: Problem): number {
  const node = jsonc.findNodeAtLocation(tree, problem.path);
  if (!node) return 0;
  if (problem.stringIndex === undefined || node.type !== 'string') return node.offset;
  return node.offset + 1 + rawIndex(text.slice(node.offset + 1, node.offset + node.length - 1), problem.stringIndex);
}

/** Index in a JSON string literal's source of the decoded character at `decodedIndex` (escapes are longer in source). */
function rawIndex(raw: string, decodedIndex: number): number {
  let r = 0;
  for (let d = 0; d < decodedIndex && r < raw.length; d++) r += raw[r] === '\\' ? (raw[r + 1] === 'u' ? 6 : 2) : 1;
  return r;
}

/** Fills what validation leaves open: the default maximum of requests-bounded phases, scenario-level lists merged into each HTTP load. */
function resolveScenario(s: RawScenario): Scenario {
  const phases = s.phases.map((p): Phase => {
    const duration = p.duration ?? DEFAULT_MAX_PHASE_DURATION;
    const withLists = p.load && driverFor(p.load).withLists;
    if (p.load && withLists && s.lists) return { ...p, duration, load: withLists(p.load, s.lists) as LoadSpec };
    return { ...p, duration };
  });
  return { ...s, phases };
}

/** Expands `repeat: N` phases into N phases named NAME#1..NAME#N, in order. */
export function expandPhases(phases: readonly Phase[]): Phase[] {
  const out: Phase[] = [];
  for (const p of phases) {
    if (!p.repeat || p.repeat <= 1) {
      out.push(p.repeat ? { ...p, repeat: undefined } : p);
      continue;
    }
    for (let i = 1; i <= p.repeat; i++) out.push({ ...p, name: `${p.name}#${i}`, repeat: undefined });
  }
  return out;
}

/** The bounds of a phase: how long at most, and how many requests at most (null: no count). */
export function phaseLimits(phase: Phase): { durationMs: number; requests: number | null } {
  return { durationMs: parseDuration(phase.duration), requests: phase.requests ?? null };
}

/** Reads and validates a scenario file. */
export function loadScenarioFile(file: string): LoadedScenario {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readRegularFile(abs);
  } catch (e) {
    throw new ScenarioError(abs, 1, 1, `cannot read the scenario file: ${(e as Error).message}`);
  }
  return { file: abs, baseDir: path.dirname(abs), scenario: parseScenarioText(text, abs, path.dirname(abs)) };
}

/** 1-based line and column of an offset in text. */
export function position(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
