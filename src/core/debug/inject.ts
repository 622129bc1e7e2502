// Allocator environments injected into debug launch configurations. Every debugger extension spells the
// debuggee's environment differently; getting the shape wrong makes the adapter ignore it silently (the program
// then runs on glibc and nothing says so), so each shape is handled, and tested, on its own.
import { composeEnvironment } from '../allocators/compose';
import type { AllocatorProfile } from '../allocators/types';
import { AlloclabError } from '../errors';

/** How a debugger type expects the debuggee's environment in its launch configuration. */
export type EnvShape =
  /** Microsoft C/C++ (cppdbg): `environment: [{ name, value }]`. */
  | 'name-value-array'
  /** CodeLLDB (`lldb`), native-debug (`gdb`), our `alloclab-lldb`: `env: { NAME: "VALUE" }`. */
  | 'object'
  /** Debian's lldb-vscode 15/16 and lldb-dap: `env: ["NAME=VALUE"]`. */
  | 'string-array';

/** The debug types Allocator Lab knows, with the environment shape each expects. */
export const DEBUGGER_ENV_SHAPES: Readonly<Record<string, EnvShape>> = {
  cppdbg: 'name-value-array',
  lldb: 'object',
  gdb: 'object',
  'alloclab-lldb': 'object',
  'lldb-dap': 'string-array',
  'lldb-vscode': 'string-array',
};

/** The launch-configuration key that names an allocator environment. */
export const ENVIRONMENT_KEY = 'allocatorLab.environment';

/** Our own debug type, backed by lldb-dap / lldb-vscode. */
export const ALLOCLAB_DEBUG_TYPE = 'alloclab-lldb';

export type LaunchConfig = Record<string, unknown> & { type: string; request?: string; name?: string };

/** Thrown when a configuration cannot carry an environment (unknown type, attach request, malformed env). */
export class DebugInjectionError extends AlloclabError {
  constructor(message: string) {
    super(message, 'input');
  }
}

/** The environment shape of a debug type, or null when Allocator Lab does not know how it passes variables. */
export function envShapeOf(type: string): EnvShape | null {
  return Object.prototype.hasOwnProperty.call(DEBUGGER_ENV_SHAPES, type) ? DEBUGGER_ENV_SHAPES[type] : null;
}

function keyOf(shape: EnvShape): 'environment' | 'env' {
  return shape === 'name-value-array' ? 'environment' : 'env';
}

/** The variables a configuration already sets for its debuggee, in any of the shapes. */
export function readConfigEnv(config: LaunchConfig, shape: EnvShape): Record<string, string> {
  const raw = config[keyOf(shape)];
  const out: Record<string, string> = {};
  if (raw === undefined || raw === null) return out;
  const bad = () => new DebugInjectionError(`The "${keyOf(shape)}" of launch configuration "${config.name ?? config.type}" is not in the form ${config.type} expects (${describeShape(shape)}). Fix it in launch.json.`);
  switch (shape) {
    case 'name-value-array':
      if (!Array.isArray(raw)) throw bad();
      for (const e of raw) {
        if (!e || typeof e !== 'object' || typeof (e as { name?: unknown }).name !== 'string') throw bad();
        out[(e as { name: string }).name] = String((e as { value?: unknown }).value ?? '');
      }
      return out;
    case 'string-array':
      if (!Array.isArray(raw)) throw bad();
      for (const e of raw) {
        if (typeof e !== 'string') throw bad();
        const eq = e.indexOf('=');
        // "NAME" without "=" sets NAME to empty in lldb; keep that meaning.
        if (eq < 0) out[e] = '';
        else out[e.slice(0, eq)] = e.slice(eq + 1);
      }
      return out;
    case 'object':
      if (typeof raw !== 'object' || Array.isArray(raw)) throw bad();
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        // CodeLLDB and native-debug treat null as "unset"; nothing to carry over.
        if (v !== null && v !== undefined) out[k] = String(v);
      }
      return out;
  }
}

/** A copy of `config` whose debuggee environment is `env`, written in `shape`. */
export function writeConfigEnv(config: LaunchConfig, shape: EnvShape, env: Record<string, string>): LaunchConfig {
  const entries = Object.entries(env);
  const value = shape === 'name-value-array' ? entries.map(([name, v]) => ({ name, value: v }))
    : shape === 'string-array' ? entries.map(([k, v]) => `${k}=${v}`)
      : Object.fromEntries(entries);
  return { ...config, [keyOf(shape)]: value };
}

function describeShape(shape: EnvShape): string {
  return shape === 'name-value-array' ? '[{ "name": "X", "value": "1" }]' : shape === 'string-array' ? '["X=1"]' : '{ "X": "1" }';
}

export interface InjectionResult {
  config: LaunchConfig;
  /** What the profile added (LD_PRELOAD as the profile's library alone). */
  applied: Record<string, string>;
  /** The debuggee's variables as written into the configuration. */
  env: Record<string, string>;
}

/** Injects an allocator profile into a launch configuration, keeping the user's variables; a user LD_PRELOAD stays, after the allocator library. */
export function injectEnvironment(config: LaunchConfig, profile: AllocatorProfile): InjectionResult {
  const shape = envShapeOf(config.type);
  if (!shape) {
    throw new DebugInjectionError(`Allocator Lab does not know how debug type "${config.type}" passes environment variables. Use one of ${Object.keys(DEBUGGER_ENV_SHAPES).join(', ')}, or set the variables yourself: ${describeProfile(profile)}.`);
  }
  if (config.request && config.request !== 'launch') {
    throw new DebugInjectionError(`"${config.name ?? config.type}" is an ${config.request} configuration: an allocator is chosen when a program starts, so only launch configurations can take one.`);
  }
  if (!profile.available) {
    throw new DebugInjectionError(`Allocator environment "${profile.id}" is not available here: ${profile.unavailableReason ?? 'not found'}.`);
  }
  const user = readConfigEnv(config, shape);
  // Only the user's own variables are composed: the adapter already passes its inherited environment on.
  const { env: composed, applied } = composeEnvironment({}, user, profile);
  // Keep the user's order, then ours (LD_PRELOAD stays where the user had it).
  const ordered: Record<string, string> = {};
  for (const k of Object.keys(user)) ordered[k] = composed[k];
  for (const [k, v] of Object.entries(composed)) if (!(k in ordered)) ordered[k] = v;
  const out = writeConfigEnv(config, shape, ordered);
  delete out[ENVIRONMENT_KEY];
  return { config: out, applied, env: ordered };
}

function describeProfile(profile: AllocatorProfile): string {
  const vars = { ...profile.env, ...(profile.preload ? { LD_PRELOAD: profile.preload } : {}) };
  return Object.entries(vars).map(([k, v]) => `${k}=${v}`).join(' ') || '(no variables)';
}

/** The launch arguments lldb-dap / lldb-vscode take for an `alloclab-lldb` configuration. */
export function toLldbDapLaunch(config: LaunchConfig): LaunchConfig {
  if (typeof config.program !== 'string' || !config.program) {
    throw new DebugInjectionError(`Launch configuration "${config.name ?? ALLOCLAB_DEBUG_TYPE}" has no "program": set it to the binary to debug.`);
  }
  const args = config.args === undefined ? [] : config.args;
  if (!Array.isArray(args) || args.some((a) => typeof a !== 'string')) {
    throw new DebugInjectionError(`"args" of "${config.name ?? ALLOCLAB_DEBUG_TYPE}" must be an array of strings.`);
  }
  const env = readConfigEnv(config, 'object');
  const out: LaunchConfig = {
    ...config,
    program: config.program,
    args,
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    stopOnEntry: config.stopOnEntry === true,
  };
  if (typeof config.cwd === 'string' && config.cwd) out.cwd = config.cwd;
  delete out[ENVIRONMENT_KEY];
  return out;
}
