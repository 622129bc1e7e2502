// The scenario file (*.alloclab.json, JSON with comments): defined once here in zod; the JSON schema shipped
// in the package is generated from this definition. Extend it by adding optional fields, never by renaming.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as jsonc from 'jsonc-parser';
import { z } from 'zod';
import { ScenarioError } from '../errors';
import { parseDuration } from '../units';

const duration = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as "500ms", "30s", "2m"')
  .describe('A duration: a number followed by ms, s, m or h, e.g. "500ms", "30s", "2m".');

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

export const httpLoadSchema = z
  .object({
    driver: z.literal('http'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    url: z.string().describe('Target URL; ${port} is replaced by the port picked for this run.'),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().optional().describe('Body template: {{counter}}, {{randomHex N}}, {{randomInt MIN MAX}}, {{uuid}}, {{choice a b c}}.'),
    concurrency: z.number().int().min(1).max(4096).default(16).describe('Requests in flight at once (closed model).'),
    keepAlive: z.boolean().default(true),
    timeout: duration.default('10s').describe('Per-request timeout.'),
  })
  .strict();

export const loadSchema = z.discriminatedUnion('driver', [httpLoadSchema]);

export const phaseSchema = z
  .object({
    name: z.string().min(1),
    kind: z.enum(['warmup', 'load', 'idle']).describe('warmup and load run the load; idle runs none, to see whether memory comes back.'),
    duration: duration,
    load: loadSchema.optional(),
  })
  .strict();

export const targetSchema = z
  .object({
    command: z.string().min(1).describe('The binary to run: absolute, relative to the scenario file, or found on PATH.'),
    args: z.array(z.string()).default([]).describe('Arguments, passed as they are (no shell). ${port} is replaced.'),
    cwd: z.string().optional().describe('Working directory, relative to the scenario file. Default: the scenario file\'s folder.'),
    env: z.record(z.string(), z.string()).default({}).describe('Extra environment variables for the target.'),
    ready: readySchema.optional(),
  })
  .strict();

export const scenarioSchema = z
  .object({
    $schema: z.string().optional(),
    name: z.string().min(1).regex(/^[\w.-]+$/, 'letters, digits, dot, dash, underscore'),
    description: z.string().optional(),
    target: targetSchema,
    environments: z.array(z.string()).min(1).default(['glibc', 'jemalloc']).describe('Allocator environment ids (see `alloclab allocators`).'),
    sampling: z
      .object({ intervalMs: z.number().min(5).max(10000).default(50) })
      .strict()
      .default({ intervalMs: 50 }),
    phases: z.array(phaseSchema).min(1),
    allowRemoteTargets: z.boolean().default(false).describe('Allow load to non-loopback addresses (the CLI also needs --allow-remote).'),
  })
  .strict();

export type Scenario = z.infer<typeof scenarioSchema>;
export type Phase = z.infer<typeof phaseSchema>;
export type LoadSpec = z.infer<typeof loadSchema>;
export type ReadySpec = z.infer<typeof readySchema>;
export type TargetSpec = z.infer<typeof targetSchema>;

/** A scenario read from disk, with the folder its relative paths resolve against. */
export interface LoadedScenario {
  file: string | null;
  baseDir: string;
  scenario: Scenario;
}

/** Parses scenario text; every problem becomes a ScenarioError naming file, line and column. */
export function parseScenarioText(text: string, file: string): Scenario {
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
    for (const [i, phase] of result.data.phases.entries()) {
      if (parseDuration(phase.duration) <= 0) {
        const node = jsonc.findNodeAtLocation(tree, ['phases', i, 'duration']);
        const { line, column } = position(text, node?.offset ?? 0);
        throw new ScenarioError(file, line, column, 'phase duration must be greater than zero');
      }
    }
    return result.data;
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

/** Reads and validates a scenario file. */
export function loadScenarioFile(file: string): LoadedScenario {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new ScenarioError(abs, 1, 1, `cannot read the scenario file: ${(e as Error).message}`);
  }
  return { file: abs, baseDir: path.dirname(abs), scenario: parseScenarioText(text, abs) };
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
