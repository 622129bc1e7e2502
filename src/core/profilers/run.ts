// Running one binary under an attribution backend for a while, then reading what it recorded. Used by
// `alloclab profile -- BINARY`; the run orchestrator can instead call prepare/collect around its own launch.
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { execa } from 'execa';
import { BackendUnavailableError, type AllocationProfile } from './model';
import type { AttributionBackend } from './backends';
import { PROFILE_JSON } from './open';
import { TargetError } from '../errors';
import { guardLaunch, registerGroup, signalGroup, unregisterGroup } from '../os/groups';

export interface ProfiledRunOptions {
  backend: AttributionBackend;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Stop the target after this long (it may exit earlier on its own). */
  durationMs: number;
  /** The run folder; raw backend files go to DIR/profile/, the model to DIR/profile.json, output to DIR/target.log. */
  outDir: string;
  /** How long the target gets to exit after SIGTERM before its process group is killed. */
  stopGraceMs?: number;
  signal?: AbortSignal;
  onOutput?: (chunk: string) => void;
}

export interface ProfiledRunResult {
  profile: AllocationProfile;
  /** Process id (and process group) of the launched command. */
  pid: number;
  profilePath: string;
  exitCode: number | null;
  signal: string | null;
  /** True when we stopped the target at the end of the duration. */
  stopped: boolean;
  durationMs: number;
}

/** The target's stdout and stderr, interleaved, in the run folder. */
export const TARGET_LOG = 'target.log';

/** Runs the command under the backend, stops it after durationMs, collects and writes profile.json. */
export async function runProfiled(o: ProfiledRunOptions): Promise<ProfiledRunResult> {
  const avail = o.backend.available();
  if (!avail.ok) throw new BackendUnavailableError(o.backend.id, avail.reason ?? 'unavailable', avail.debianPackage);
  const can = o.backend.canApplyTo(o.command);
  if (!can.ok) throw new TargetError(`Cannot profile with ${o.backend.id}: ${can.reason}.`);
  const rawDir = path.join(o.outDir, 'profile');
  // Files of an earlier run in the same folder would be read as this run's.
  rmSync(rawDir, { recursive: true, force: true });
  mkdirSync(rawDir, { recursive: true });
  const launch = o.backend.prepare({ command: o.command, args: o.args, env: o.env ?? {} }, rawDir);
  const startedAtMs = Date.now();
  const guarded = guardLaunch(launch.command, launch.args, { ...(process.env as Record<string, string>), ...launch.env });
  const child = execa(guarded.file, guarded.args, {
    env: guarded.env,
    extendEnv: false,
    cwd: o.cwd,
    detached: true,
    reject: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
  });
  const pgid = child.pid;
  if (pgid === undefined) throw new TargetError(`Could not start ${launch.command}.`);
  registerGroup(pgid, guarded.tag);
  const log = createWriteStream(path.join(o.outDir, TARGET_LOG));
  child.all?.on('data', (d: Buffer) => {
    log.write(d);
    o.onOutput?.(d.toString());
  });
  let stopped = false;
  let killTimer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    o.backend.terminate(pgid, o.command);
    killTimer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), o.stopGraceMs ?? 15_000);
  };
  const timer = setTimeout(stop, o.durationMs);
  o.signal?.addEventListener('abort', stop, { once: true });
  try {
    const r = await child;
    const durationMs = Date.now() - startedAtMs;
    const profile = await o.backend.collect(rawDir, { startedAtMs, pid: pgid });
    const profilePath = path.join(o.outDir, PROFILE_JSON);
    writeFileSync(profilePath, JSON.stringify(profile));
    return { profile, pid: pgid, profilePath, exitCode: r.exitCode ?? null, signal: r.signal ?? null, stopped, durationMs };
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
    o.signal?.removeEventListener('abort', stop);
    unregisterGroup(pgid);
    log.end();
  }
}
