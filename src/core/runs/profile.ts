// Profiling is a run like any other: the target is launched, sampled and stopped by the orchestrator (same
// process group, same kill registry, an ordinary run folder with run.json), with an attribution backend wrapping
// its launch and collecting profile.json into the environment folder. Used by the CLI and the language server.
import * as path from 'node:path';
import type { DiscoveryOptions } from '../allocators';
import { AlloclabError, TargetError } from '../errors';
import { BackendUnavailableError, profilingHooks, type AllocationProfile, type AttributionBackend } from '../profilers';
import type { LoadedScenario } from '../stress/scenario';
import { compareScenario, executeRun, type RunObserver, type RunOutcome } from './runner';

/** What to profile: a scenario (its phases and load), or a binary run for a while with no load. */
export type ProfileTarget =
  | { scenario: LoadedScenario; durationOverrideMs?: number }
  | { command: string; args: string[]; durationMs: number; cwd: string };

export interface ProfileRunRequest {
  backend: AttributionBackend;
  target: ProfileTarget;
  /** The allocator environment to run under, for a backend that works under any (default: the backend's own). */
  environment?: string;
  /** Parent folder of run folders. */
  runsDir: string;
  /** Exact run folder instead of a new one under runsDir. */
  outDir?: string;
  allocators?: DiscoveryOptions;
  signal?: AbortSignal;
}

export interface ProfileRunOutcome extends RunOutcome {
  /** The environment folders that got a profile.json, with what was written there. */
  profiles: { envDir: string; profile: AllocationProfile }[];
}

/**
 * Runs the target under the backend, in the allocator environment the backend declares; throws a typed error
 * when the backend is missing, cannot reach the binary, or recorded nothing readable (unless cancelled).
 */
export async function profileRun(req: ProfileRunRequest, observer: RunObserver = {}): Promise<ProfileRunOutcome> {
  const { backend } = req;
  const avail = backend.available();
  if (!avail.ok) throw new BackendUnavailableError(backend.id, avail.reason ?? 'unavailable', avail.debianPackage);
  const environment = req.environment ?? backend.environment;
  if (environment !== backend.environment && !backend.anyEnvironment) {
    throw new AlloclabError(`--env ${environment} clashes with the ${backend.id} backend: it runs the target under ${backend.environment} (${backend.label}). Profile under ${environment} with --backend probe-sampled, or drop --env.`, 'input');
  }
  let loaded: LoadedScenario;
  let durationOverrideMs: number | undefined;
  if ('scenario' in req.target) {
    loaded = req.target.scenario;
    durationOverrideMs = req.target.durationOverrideMs;
  } else {
    const t = req.target;
    const can = backend.canApplyTo(t.command);
    if (!can.ok) throw new TargetError(`Cannot profile with ${backend.id}: ${can.reason}.`, 'input');
    loaded = compareScenario(t.command, t.args, t.durationMs, [environment], t.cwd);
    loaded.scenario.name = `profile-${path.basename(t.command).replace(/[^\w.-]/g, '_')}`;
  }
  const profiles: ProfileRunOutcome['profiles'] = [];
  let failure: Error | null = null;
  const outcome = await executeRun({
    kind: 'profile', loaded, environments: [environment], runsDir: req.runsDir, outDir: req.outDir,
    allocators: req.allocators, signal: req.signal, durationOverrideMs,
    hooks: profilingHooks(backend, {
      profile: (profile, envDir) => profiles.push({ envDir, profile }),
      error: (e) => (failure = e),
    }),
  }, observer);
  if (failure && !req.signal?.aborted) throw failure;
  return { ...outcome, profiles };
}
