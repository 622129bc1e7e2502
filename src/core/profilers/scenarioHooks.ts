// Profiling a scenario run: the run hooks that wrap each environment's launch in an attribution backend and
// collect its profile into the environment folder. Shared by the CLI (`alloclab profile`) and the language server.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AlloclabError } from '../errors';
import type { RunEvent } from '../model';
import type { RunHooks } from '../runs/runner';
import { EVENTS_FILE, readNdjson } from '../runs/store';
import type { AttributionBackend } from './backends';
import type { AllocationProfile } from './model';
import { PROFILE_JSON } from './open';

/** Load phases of an environment, from its events, as windows relative to the target's start. */
export function loadWindows(envDir: string): { startMs: number; endMs: number }[] | undefined {
  const windows: { startMs: number; endMs: number }[] = [];
  let open: number | null = null;
  for (const e of readNdjson<RunEvent>(path.join(envDir, EVENTS_FILE))) {
    if (e.type === 'phase-start' && e.kind === 'load') open = e.t;
    if (e.type === 'phase-end' && e.kind === 'load' && open != null) {
      windows.push({ startMs: open, endMs: e.t });
      open = null;
    }
  }
  return windows.length ? windows : undefined;
}

/** Hooks that run each environment under `backend` and write its profile.json, telling `on` of each outcome. */
export function profilingHooks(backend: AttributionBackend, on: {
  profile?(profile: AllocationProfile, envDir: string): void;
  error?(e: Error): void;
} = {}): RunHooks {
  const started = new Map<string, number>();
  return {
    terminate: (pgid, binary) => backend.terminate(pgid, binary),
    prepareLaunch(launch, envDir) {
      const dir = path.join(envDir, 'profile');
      // Files of an earlier run in the same folder (--out reused) would be read as this run's.
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      started.set(envDir, Date.now());
      return backend.prepare(launch, dir);
    },
    async afterEnvironment(env, envDir, binary) {
      try {
        const profile = await backend.collect(path.join(envDir, 'profile'), { startedAtMs: started.get(envDir) ?? Date.now(), pid: env.pid ?? undefined });
        profile.windows = loadWindows(envDir);
        writeFileSync(path.join(envDir, PROFILE_JSON), JSON.stringify(profile));
        on.profile?.(profile, envDir);
      } catch (e) {
        const can = backend.canApplyTo(binary);
        const err = can.ok ? (e as Error) : new AlloclabError(`${(e as Error).message} (${can.reason})`, 'input');
        on.error?.(err);
        throw err;
      }
    },
  };
}
