// Runs a scenario over its allocator environments, one after another (never two under load at once: on a small
// machine they would distort each other), and records everything in a run folder as it happens. One overlap is
// allowed: once an environment is in its closing idle phases and its target is quiet (under 5 % of a core), the
// next environment starts (when each target takes its own ${port}). An idle target needs no CPU, and its idle phase is there to show what memory it gives
// back over time, which another process's load does not change.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import {
  composeEnvironment, inspectBinary, preflight, resolveEnvironments, shippedEnvironments, verifyEnvironment,
  type AllocatorProfile, type BinaryInfo, type DiscoveryOptions,
} from '../allocators';
import { computeEnvironmentMetrics, cpuShare } from '../analysis/metrics';
import { comparisonReference, PhaseSettler, type ComparisonReference, type SettleCheck } from '../analysis/settle';
import { judgeRun } from '../analysis/verdict';
import { AlloclabError, printableOutput, TargetError } from '../errors';
import { probeApplies, probeEnvironment } from '../ledger';
import { findFreePort, launchTarget, resolveExecutable, type ExitStatus, type ResolvedReady, type TargetProcess } from '../launch';
import type { EnvironmentRecord, LoadStats, PhaseEndReason, RunEvent, RunKind, RunRecord, Sample, Verification } from '../model';
import { guardLaunch, registerGroup, signalGroup, unregisterGroup } from '../os/groups';
import { readProcText } from '../os/proc';
import { startSampler, type RssSampler } from '../sampler';
import { expandPhases, preflightLoad, runLoad, substitute } from '../stress';
import { phaseLimits, type LoadedScenario, type Phase, type Scenario } from '../stress/scenario';
import { parseDuration } from '../units';
import { RunWriter, SAMPLES_FILE } from './store';

export interface RunRequest {
  kind: RunKind;
  loaded: LoadedScenario;
  /** Override the scenario's environments. */
  environments?: string[];
  /** Override the durations of load phases (and of the single phase of a compare). */
  durationOverrideMs?: number;
  /** Parent folder of run folders. */
  runsDir: string;
  /** Exact run folder instead of a new one under runsDir. */
  outDir?: string;
  allocators?: DiscoveryOptions;
  /** The user confirmed load to non-loopback targets (CLI --allow-remote); the scenario must also allow it. */
  allowRemote?: boolean;
  /** Preload the probe for the RSS ledger (default: the scenario's `ledger`). */
  ledger?: boolean;
  /** End each phase once it is settled, durations as upper bounds (default: the scenario's `untilSettled`). */
  untilSettled?: boolean;
  signal?: AbortSignal;
  hooks?: RunHooks;
}

/** Extension points for attribution backends (profilers wrap the launch and collect after exit). */
export interface RunHooks {
  prepareLaunch?(launch: { command: string; args: string[]; env: Record<string, string> }, envDir: string, profile: AllocatorProfile):
    { command: string; args: string[]; env: Record<string, string> };
  afterEnvironment?(env: EnvironmentRecord, envDir: string, binary: string): Promise<void>;
  /** Stops the target instead of SIGTERM to its group (heaptrack's recorder must outlive the target). */
  terminate?(pgid: number, binary: string): void;
}

export interface RunObserver {
  runStarted?(runDir: string, record: RunRecord): void;
  environmentStarted?(index: number, env: EnvironmentRecord): void;
  samples?(index: number, samples: Sample[]): void;
  event?(index: number, event: RunEvent): void;
  environmentFinished?(index: number, env: EnvironmentRecord): void;
  /** A line of progress; `index` is the environment it is about (absent for the run as a whole). */
  progress?(message: string, index?: number): void;
}

export interface RunOutcome { runDir: string; record: RunRecord }

const STOP_GRACE_MS = 3000;
/** How often a phase run until settled looks at its samples (samples arrive in batches about once a second). */
const SETTLE_CHECK_MS = 1000;
/** A profiler writes its trace after the target ends: give it longer before SIGKILL. */
const PROFILED_STOP_GRACE_MS = 15_000;
/** An environment in its closing idle phases hands over to the next once its target used under this share of a core... */
const QUIET_CPU_SHARE = 0.05;
/** ...over this long (and not before this long into the idle: in-flight work drains first). */
const QUIET_WINDOW_MS = 2000;

/** A scenario with no load: run BINARY ARGS for durationMs under each environment. */
export function compareScenario(command: string, args: string[], durationMs: number, environments: string[], cwd: string): LoadedScenario {
  const scenario: Scenario = {
    name: `compare-${path.basename(command).replace(/[^\w.-]/g, '_') || 'binary'}`,
    target: { command, args, env: {} },
    environments,
    sampling: { intervalMs: 50 },
    // The first quarter is start-up (caches filling, pools created): a warm-up, so growth is fitted after it.
    phases: [
      { name: 'start-up', kind: 'warmup', duration: `${Math.max(1, Math.round(durationMs / 4))}ms` },
      { name: 'run', kind: 'load', duration: `${Math.max(1, Math.round((durationMs * 3) / 4))}ms` },
    ],
    allowRemoteTargets: false,
  } as Scenario;
  return { file: null, baseDir: cwd, scenario };
}

function notApplied(reason: string): Verification {
  return { applied: false, notAppliedReason: reason, mappedAllocator: null, mappedLibraries: [] };
}

function describeExit(exit: { code: number | null; signal: string | null }): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** Runs every environment of the request and returns the finished run folder and record. */
export async function executeRun(req: RunRequest, observer: RunObserver = {}): Promise<RunOutcome> {
  const { scenario, baseDir } = req.loaded;
  const requested = resolveEnvironments(req.environments ?? scenario.environments, req.allocators);
  const cwd = path.resolve(baseDir, scenario.target.cwd ?? '.');
  const allowRemote = !!(req.allowRemote && scenario.allowRemoteTargets);
  const phases: Phase[] = expandPhases(scenario.phases).map((p: Phase) =>
    req.durationOverrideMs && p.kind === 'load' ? { ...p, duration: `${req.durationOverrideMs}ms` } : p);
  for (const p of phases) {
    if (p.load) preflightLoad(p.load, { allowRemote });
  }
  const executable = resolveExecutable(scenario.target.command, cwd, process.env.PATH);
  const binary = inspectBinary(executable);
  // A binary that links its own allocator ships on it: "as shipped" takes glibc's place (glibc stays, not applied).
  const profiles = shippedEnvironments(requested, binary, req.allocators);

  const writer = RunWriter.create({
    runsDir: req.runsDir, outDir: req.outDir, name: scenario.name, kind: req.kind,
    scenarioPath: req.loaded.file,
    // The scenario as run: overrides applied (environments, phase durations, until-settled), so the diagnosis and
    // `show` read what was done, not what the file said.
    scenario: { ...scenario, environments: profiles.map((p) => p.id), phases, untilSettled: req.untilSettled ?? scenario.untilSettled ?? false },
  });
  observer.runStarted?.(writer.dir, writer.record);

  const build = scenario.target.build;
  if (build) {
    observer.progress?.(`building: ${build.command} ${(build.args ?? []).join(' ')}`);
    // A build (make -j and its compilers) is a launch like any other: tagged, in its own group, registered.
    const guarded = guardLaunch(build.command, build.args ?? [], process.env as Record<string, string>);
    const child = execa(guarded.file, guarded.args, { cwd: path.resolve(baseDir, build.cwd ?? '.'), env: guarded.env, extendEnv: false, reject: false, all: true, detached: true });
    if (child.pid !== undefined) registerGroup(child.pid, guarded.tag);
    const cancel = () => child.pid !== undefined && signalGroup(child.pid, 'SIGTERM');
    req.signal?.addEventListener('abort', cancel, { once: true });
    const r = await child.finally(() => {
      req.signal?.removeEventListener('abort', cancel);
      if (child.pid !== undefined) unregisterGroup(child.pid);
    });
    if (r.exitCode !== 0) throw new AlloclabError(`The build command failed (exit ${r.exitCode}):\n${printableOutput(String(r.all ?? '').slice(-2000), true)}`, 'failure');
  }

  const repeat = Math.max(1, scenario.repeat ?? 1);
  // Environments still running (the newest, and any idling out before it), and the first failure of any.
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | null = null;
  // A profiler's collection after the target's exit (symbolising, writing its trace) is work: no overlap then.
  const overlap = !req.hooks?.afterEnvironment && !req.hooks?.prepareLaunch && !req.hooks?.terminate && ownPort(scenario);
  // Each finished load phase, for the comparison of the environments after it (by phase index).
  const references: LoadReference[] = [];
  try {
    const order = profiles.flatMap((profile) => Array.from({ length: repeat }, (_, k) => ({ profile, repetition: k + 1 })));
    for (const [i, { profile, repetition }] of order.entries()) {
      if (req.signal?.aborted || failure) break;
      let handOff = () => {};
      const handedOff = new Promise<void>((resolve) => { handOff = resolve; });
      const tracked: Promise<void> = runEnvironment({
        req, observer, writer, profile, repetition, executable, binary, cwd, phases, allowRemote, references,
        // The last environment has no one to hand over to.
        ...(overlap && i < order.length - 1 ? { handOff } : {}),
      }).catch((error: unknown) => { failure ??= { error }; }).finally(() => running.delete(tracked));
      running.add(tracked);
      await Promise.race([handedOff, tracked]);
    }
  } finally {
    await Promise.all(running);
    writer.record.cancelled = !!req.signal?.aborted;
    judgeRun(writer.record);
    writer.record.complete = true;
    writer.save();
  }
  if (failure) throw (failure as { error: unknown }).error;
  return { runDir: writer.dir, record: writer.record };
}

interface EnvContext {
  req: RunRequest; observer: RunObserver; writer: RunWriter; profile: AllocatorProfile; repetition: number;
  executable: string; binary: BinaryInfo; cwd: string; phases: Phase[]; allowRemote: boolean;
  /** The run's finished load phases so far (this environment adds its own). */
  references: LoadReference[];
  /** Lets the next environment start (at most once, when this one idles out quietly); absent: no overlap. */
  handOff?: () => void;
}

/** A finished load phase of one environment: what later environments' load phases are compared with. */
interface LoadReference { env: string; index: number; ref: ComparisonReference }

/**
 * One environment, as named steps: prepare -> launch -> sample -> await ready -> phases -> stop -> collect.
 * Whatever happens between launch and stop, stop runs: nothing of this environment stays running.
 */
async function runEnvironment(c: EnvContext): Promise<void> {
  const env = openEnvironment(c);
  const prepared = await prepare(c, env);
  if (!prepared) return env.finish();
  const target = await launch(c, env, prepared);
  if (!target) return env.finish();
  const sampling = sample(c, env, target, prepared.probePath);
  const watch = watchEnvironment(c, target, sampling.sampler);
  try {
    const verification = await awaitReady(c, env, target, watch.signal, prepared.vars);
    if (verification.applied) await runPhases(c, env, watch.signal, prepared.port, sampling.samples);
    else c.observer.progress?.(`${env.label}: not applied (${verification.notAppliedReason})`, env.index);
  } catch (e) {
    // A target that died before it was ready: the readiness error names the exit and keeps its last stderr lines.
    if (!c.req.signal?.aborted && (!watch.died() || e instanceof TargetError)) env.rec.error = (e as Error).message;
  } finally {
    watch.dispose();
  }
  await stop(c, env, target, sampling.sampler, watch, prepared.probePath);
  await collect(c, env, sampling.samples);
  const samplerError = watch.samplerError();
  if (samplerError) throw new AlloclabError(env.rec.error!, 'failure');
}

/** The record of one environment being run, and how its events are written and timed. */
interface EnvironmentInProgress {
  index: number;
  rec: EnvironmentRecord;
  dir: string;
  label: string;
  events: RunEvent[];
  /** Milliseconds since the target's spawn (since the record opened, before the spawn). */
  now(): number;
  /** Time zero becomes the target's spawn. */
  startClock(startNs: bigint): void;
  emit(e: RunEvent): void;
  finish(): void;
}

function openEnvironment(c: EnvContext): EnvironmentInProgress {
  const { writer, observer, profile } = c;
  const index = writer.record.environments.length;
  const label = c.repetition > 1 ? `${profile.label} #${c.repetition}` : profile.label;
  const rec = writer.addEnvironment({
    env: profile.id, label, repetition: c.repetition, appliedEnv: {}, pid: null, startedAt: new Date().toISOString(),
    durationMs: null, verification: null, exit: null, error: null, metrics: null,
  });
  observer.environmentStarted?.(index, rec);
  let t0 = process.hrtime.bigint();
  const events: RunEvent[] = [];
  return {
    index, rec, label, events, dir: path.join(writer.dir, rec.dir),
    now: () => Number(process.hrtime.bigint() - t0) / 1e6,
    startClock: (startNs) => {
      t0 = startNs;
    },
    emit: (e) => {
      events.push(e);
      writer.appendEvent(rec, e);
      observer.event?.(index, e);
    },
    finish: () => {
      writer.save();
      observer.environmentFinished?.(index, rec);
    },
  };
}

interface PreparedLaunch {
  port: number;
  vars: Record<string, string>;
  launch: { command: string; args: string[]; env: Record<string, string> };
  probePath: string | null;
}

/** Preflight, a free port, the composed environment (allocator, probe, backend): null when the profile cannot apply. */
async function prepare(c: EnvContext, env: EnvironmentInProgress): Promise<PreparedLaunch | null> {
  const { req, profile } = c;
  const scenario = req.loaded.scenario;
  const reason = profile.available ? preflight(profile, c.binary) : profile.unavailableReason ?? 'not available on this system';
  if (reason) {
    env.rec.verification = notApplied(reason);
    env.emit({ t: 0, type: 'note', level: 'warning', message: `${profile.label} not applied: ${reason}` });
    c.observer.progress?.(`${env.label}: not applied (${reason})`, env.index);
    return null;
  }
  const port = await findFreePort();
  const vars = { port: String(port) };
  const targetEnv = Object.fromEntries(Object.entries(scenario.target.env ?? {}).map(([k, v]) => [k, substitute(v, vars)]));
  const allocatorEnv = composeEnvironment(process.env, targetEnv, profile);
  const probe = (req.ledger ?? scenario.ledger) ? setUpProbe(c.binary, c.writer.record.id, env.rec.dir, allocatorEnv, (message) =>
    env.emit({ t: 0, type: 'note', level: 'warning', message })) : null;
  const probePath = probe?.path ?? null;
  const composed = probe?.composed ?? allocatorEnv;
  env.rec.appliedEnv = composed.applied;
  let launch = { command: c.executable, args: scenario.target.args.map((a) => substitute(a, vars)), env: composed.env };
  if (req.hooks?.prepareLaunch) launch = req.hooks.prepareLaunch(launch, env.dir, profile);
  return { port, vars, launch, probePath };
}

/** Spawns the target in its own process group; null (with the error recorded) when it could not start. */
async function launch(c: EnvContext, env: EnvironmentInProgress, p: PreparedLaunch): Promise<TargetProcess | null> {
  c.observer.progress?.(`${env.label}: starting ${path.basename(c.executable)}`, env.index);
  let target: TargetProcess;
  try {
    target = await launchTarget({
      command: p.launch.command, args: p.launch.args, cwd: c.cwd, env: p.launch.env,
      stdoutPath: path.join(env.dir, 'stdout.log'), stderrPath: path.join(env.dir, 'stderr.log'),
    });
  } catch (e) {
    env.rec.error = (e as Error).message;
    return null;
  }
  env.startClock(target.startNs);
  env.rec.pid = target.pid;
  env.emit({ t: 0, type: 'spawn', pid: target.pid, command: p.launch.command, args: p.launch.args });
  c.writer.save();
  return target;
}

/** Starts the sampler worker on the target; samples are kept for the metrics and streamed to the observer. */
function sample(c: EnvContext, env: EnvironmentInProgress, target: TargetProcess, probePath: string | null): { sampler: RssSampler; samples: Sample[] } {
  const samples: Sample[] = [];
  const sampler = startSampler({
    pid: target.pid, startNs: target.startNs, intervalMs: c.req.loaded.scenario.sampling.intervalMs,
    samplesFile: path.join(env.dir, SAMPLES_FILE), probePath,
  });
  sampler.onBatch((batch) => {
    for (const s of batch) samples.push(s);
    c.observer.samples?.(env.index, batch);
  });
  return { sampler, samples };
}

/** What ends the environment early: the run's cancel, the target's own exit, or the sampler failing. */
interface EnvironmentWatch {
  signal: AbortSignal;
  died(): ExitStatus | null;
  samplerError(): string | null;
  dispose(): void;
}

function watchEnvironment(c: EnvContext, target: TargetProcess, sampler: RssSampler): EnvironmentWatch {
  let died: ExitStatus | null = null;
  let samplerError: string | null = null;
  const envAbort = new AbortController();
  const onAbort = () => envAbort.abort();
  c.req.signal?.addEventListener('abort', onAbort, { once: true });
  void target.exited.then((x) => {
    died = x;
    envAbort.abort();
  });
  void sampler.done.then((s) => {
    if (s.reason === 'error') {
      samplerError = s.error ?? 'the sampler failed';
      envAbort.abort();
    }
  });
  return {
    signal: envAbort.signal,
    died: () => died,
    samplerError: () => samplerError,
    dispose: () => c.req.signal?.removeEventListener('abort', onAbort),
  };
}

/** Waits for the scenario's readiness, then for the loader to map the libraries, then verifies the environment. */
async function awaitReady(c: EnvContext, env: EnvironmentInProgress, target: TargetProcess, signal: AbortSignal, vars: Record<string, string>): Promise<Verification> {
  const ready = resolveReady(c.req.loaded.scenario, vars);
  if (ready) {
    const how = await target.waitReady(ready, signal);
    env.emit({ t: env.now(), type: 'ready', how });
  }
  if (!c.binary.isStatic) await librariesLoaded(target.pid, signal);
  const verification = verifyEnvironment(target.pid, c.profile, c.binary);
  env.rec.verification = verification;
  env.emit({ t: env.now(), type: 'verified', verification });
  return verification;
}

/**
 * The phases in order: load runs its driver, idle phases just wait. A phase ends at its duration, or earlier: the
 * run is cancelled (or the target exits), its external driver exits (fixed work done), its `requests` are served,
 * or (--until-settled) what it is there to show is settled. phase-end says which.
 */
async function runPhases(c: EnvContext, env: EnvironmentInProgress, signal: AbortSignal, port: number, samples: readonly Sample[]): Promise<void> {
  const untilSettled = c.req.untilSettled ?? c.req.loaded.scenario.untilSettled ?? false;
  let quiet: (() => void) | null = null;
  try {
    for (const [i, phase] of c.phases.entries()) {
      if (signal.aborted) break;
      if (!quiet && c.handOff && closingIdle(c.phases, i)) quiet = watchQuiet(c, env, samples, env.now());
      await runPhase(c, env, signal, port, samples, untilSettled, phase, i);
    }
  } finally {
    quiet?.();
  }
}

/** One phase, to its end (phase-start, the load or the wait, the settle checks, phase-end with its reason). */
async function runPhase(c: EnvContext, env: EnvironmentInProgress, signal: AbortSignal, port: number, samples: readonly Sample[],
  untilSettled: boolean, phase: Phase, i: number): Promise<void> {
  const { durationMs, requests } = phaseLimits(phase);
  c.observer.progress?.(`${env.label}: ${phase.name} (${untilSettled ? `until settled, at most ${phase.duration}` : phase.duration})`, env.index);
  const startMs = env.now();
  env.emit({ t: startMs, type: 'phase-start', phase: phase.name, kind: phase.kind, index: i });
  const phaseEnd = new AbortController();
  const endPhase = () => phaseEnd.abort();
  signal.addEventListener('abort', endPhase, { once: true });
  let settled = null as SettleCheck | null; // set by the watch below (a closure)
  let driverExited = false;
  // A load phase may also settle on the comparison with the same phase under the allocators that ran before.
  const references = phase.kind === 'load' ? c.references.filter((r) => r.index === i && r.env !== c.profile.id).map((r) => r.ref) : [];
  const settler = untilSettled ? new PhaseSettler(phase.kind, startMs, { boundMs: durationMs, references }) : null;
  const watch = settler && setInterval(() => {
    const check = settler.check(samples, env.now());
    if (!check.settled) return;
    settled = check;
    endPhase();
  }, SETTLE_CHECK_MS);
  let load: LoadStats | undefined;
  try {
    if (phase.load && phase.kind !== 'idle') {
      load = await runLoad(phase.load, {
        port, durationMs, signal: phaseEnd.signal, outDir: env.dir, phaseName: phase.name,
        baseDir: c.req.loaded.baseDir, allowRemote: c.allowRemote, requests, onDriverExit: () => { driverExited = true; },
      });
    } else {
      await sleep(durationMs, undefined, { signal: phaseEnd.signal }).catch(() => undefined);
    }
  } finally {
    if (watch) clearInterval(watch);
    signal.removeEventListener('abort', endPhase);
  }
  const reason: PhaseEndReason = signal.aborted ? 'cancelled'
    : settled != null ? 'settled'
    : driverExited ? 'driver-exit'
    : requests != null && load && load.requests >= requests ? 'requests'
    : 'duration';
  if (settled != null) c.observer.progress?.(`${env.label}: ${phase.name} ${settled.undecided ? 'stopped' : 'settled'} after ${((env.now() - startMs) / 1000).toFixed(0)} s (${settled.why})`, env.index);
  env.emit({ t: env.now(), type: 'phase-end', phase: phase.name, kind: phase.kind, index: i, ...(load ? { load } : {}), reason,
    ...(reason === 'settled' && settled?.on ? { settledOn: settled.on } : {}) });
  if (untilSettled && phase.kind === 'load' && reason !== 'cancelled') {
    const ref = comparisonReference(env.label, samples, startMs, env.now());
    if (ref) c.references.push({ env: c.profile.id, index: i, ref });
  }
  if (load?.redirects) {
    env.emit({ t: env.now(), type: 'note', level: 'warning', message: `${phase.name}: ${load.redirects} of ${load.requests} answers were redirects (3xx), which the load does not follow: they are not successes. Point the URL at the final address.` });
  }
}

/**
 * Two targets side by side must not meet: each takes its own `${port}` (in its arguments or environment), and its
 * readiness, if it listens, is looked for there. A target on a fixed port would fail to bind beside the one idling
 * out, or worse, the readiness check and the load would reach the one idling out.
 */
function ownPort(scenario: Scenario): boolean {
  const { args, env, ready } = scenario.target;
  const own = (v: string | number | undefined) => v == null || String(v).includes('${port}');
  return [...args, ...Object.values(env ?? {})].some((v) => v.includes('${port}')) && own(ready?.tcpPort) && own(ready?.httpUrl);
}

/** Phase i starts the closing idle phases: it and every phase after it are idle, and some phase before it was not. */
function closingIdle(phases: readonly Phase[], i: number): boolean {
  const idle = (p: Phase) => p.kind === 'idle' && !p.load;
  return phases.slice(i).every(idle) && !phases.slice(0, i).every(idle);
}

/**
 * In the closing idle phases: once the target has used under QUIET_CPU_SHARE of a core over QUIET_WINDOW_MS, the
 * next environment may start (a note says so, with the share). A target that keeps working while "idle" (its own
 * timers, a batch) never hands over, and the environments stay one after another. Returns the disposer.
 */
function watchQuiet(c: EnvContext, env: EnvironmentInProgress, samples: readonly Sample[], fromMs: number): () => void {
  const timer = setInterval(() => {
    const now = env.now();
    if (now - fromMs < QUIET_WINDOW_MS) return;
    const share = cpuShare(samples, now - QUIET_WINDOW_MS, now);
    if (share == null || share >= QUIET_CPU_SHARE) return;
    clearInterval(timer);
    env.emit({ t: now, type: 'note', level: 'info', message: `idle and quiet (${(share * 100).toFixed(1)} % of a core over ${QUIET_WINDOW_MS / 1000} s): the next environment starts while this one idles` });
    c.handOff?.();
  }, SETTLE_CHECK_MS / 2);
  return () => clearInterval(timer);
}

/**
 * Sampling ends first, so the final figures are those of the running target, not of its shutdown (which frees
 * caches, unmaps arenas); then the group is stopped and the exit recorded (unexpected when it died on its own).
 */
async function stop(c: EnvContext, env: EnvironmentInProgress, target: TargetProcess, sampler: RssSampler, watch: EnvironmentWatch, probePath: string | null): Promise<void> {
  await sampler.stop();
  const wasRunning = !watch.died();
  const terminate = c.req.hooks?.terminate;
  const exit = terminate
    ? await target.stop(PROFILED_STOP_GRACE_MS, () => terminate(target.pid, c.executable))
    : await target.stop(STOP_GRACE_MS);
  if (probePath) removeProbeFiles(probePath);
  const rec = env.rec;
  rec.exit = { code: exit.code, signal: exit.signal, expected: wasRunning };
  env.emit({ t: env.now(), type: 'exit', code: exit.code, signal: exit.signal, expected: wasRunning });
  if (!wasRunning) {
    const msg = `The target ${describeExit(exit)} ${(env.now() / 1000).toFixed(1)} s after start under ${env.label} (see ${path.join(env.dir, 'stderr.log')}).`;
    rec.error = rec.error ? `${rec.error}${rec.error.includes('\n') ? '\n' : ' '}${msg}` : msg;
  }
  const samplerError = watch.samplerError();
  if (samplerError) rec.error = `Sampling stopped: ${samplerError}. The target was stopped.`;
  rec.durationMs = env.now();
}

/** The environment's metrics, then what the hooks collect (a profile), then the record is saved. */
async function collect(c: EnvContext, env: EnvironmentInProgress, samples: Sample[]): Promise<void> {
  env.rec.metrics = samples.length ? computeEnvironmentMetrics(samples, env.events) : null;
  if (c.req.hooks?.afterEnvironment) {
    try {
      await c.req.hooks.afterEnvironment(env.rec, env.dir, c.executable);
    } catch (e) {
      env.emit({ t: env.now(), type: 'note', level: 'error', message: (e as Error).message });
    }
  }
  env.finish();
}

type ComposedEnvironment = ReturnType<typeof composeEnvironment>;

/**
 * Puts the probe first in LD_PRELOAD (before the allocator, so it sees every call and forwards it) and returns
 * its shared-memory file with a new environment that includes it (the allocator's is left as it was), or null
 * with a note when it cannot apply (static or setuid binary, probe not built).
 */
function setUpProbe(binary: BinaryInfo, runId: string, envDir: string, composed: ComposedEnvironment,
  note: (message: string) => void): { path: string; composed: ComposedEnvironment } | null {
  const reason = probeApplies(binary);
  if (reason) {
    note(`probe not applied: ${reason}; the ledger (live heap, held by allocator) is not available for this environment`);
    return null;
  }
  const shm = path.join(existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), `alloclab-${process.pid}-${runId}-${envDir}.probe`.replace(/[^\w.-]/g, '_'));
  try {
    const env = probeEnvironment(shm, composed.env);
    return { path: shm, composed: { env: { ...composed.env, ...env }, applied: { ...composed.applied, ...env } } };
  } catch (e) {
    note(`probe not applied: ${(e as Error).message}`);
    return null;
  }
}

/** The probe's file and the per-process files of children that forked (`<path>.<pid>`). */
function removeProbeFiles(probePath: string): void {
  const dir = path.dirname(probePath);
  const base = path.basename(probePath);
  for (const name of readdirSync(dir)) {
    if (name === base || name.startsWith(`${base}.`)) rmSync(path.join(dir, name), { force: true });
  }
}

/**
 * Waits until the dynamic loader has mapped the target's libraries (libc is among the last it maps, after
 * every preload), so verification right after spawn does not read the maps of a process still in exec.
 */
async function librariesLoaded(pid: number, signal: AbortSignal, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !signal.aborted) {
    try {
      if (/\/libc\.so\.6$/m.test(readProcText(pid, 'maps'))) return;
    } catch {
      return; // gone: verification will say so
    }
    await sleep(10);
  }
}

function resolveReady(scenario: Scenario, vars: Record<string, string>): ResolvedReady | null {
  const r = scenario.target.ready;
  if (!r) return null;
  const out: ResolvedReady = { timeoutMs: parseDuration(r.timeout) };
  if (r.tcpPort != null) out.tcpPort = Number(substitute(String(r.tcpPort), vars));
  if (r.httpUrl) out.httpUrl = substitute(r.httpUrl, vars);
  if (r.logLine) out.logLine = r.logLine;
  if (r.delay) out.delayMs = parseDuration(r.delay);
  return out;
}
