// `alloclab profile` (record an allocation profile) and `alloclab hotspots` (rank its sites by source line).
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { AlloclabError } from '../core/errors';
import {
  BackendUnavailableError, describeFrame, profilingHooks, diffProfiles, getBackend, listBackends, mapToWorkspace, openProfile, PROFILE_JSON, rankHotspots,
  RANKINGS, runProfiled, supportedRankings, TARGET_LOG, type AllocationProfile, type AttributionBackend, type Hotspot, type Ranking,
} from '../core/profilers';
import { composeEnvironment, resolveEnvironments } from '../core/allocators';
import { writePprof } from '../core/profilers/pprof';
import { executeRun } from '../core/runs/runner';
import { createRunFolder } from '../core/runs/store';
import { loadScenarioFile } from '../core/stress/scenario';
import { formatGrowth, formatMiB, parsePositiveDuration } from '../core/units';
import { withStopSignals } from './signals';

const DEFAULT_RUNS_DIR = path.join('.alloclab', 'runs');

/** One row of `alloclab hotspots --json`. */
export interface HotspotJson {
  rank: number;
  function: string | null;
  file: string | null;
  line: number | null;
  module: string | null;
  /** The file in the workspace the debug-info path maps to, or null when none was found. */
  workspaceFile: string | null;
  growthBytesPerMin: number | null;
  peakBytes: number;
  allocations: number | null;
  allocatedBytes: number | null;
  leakedBytes: number | null;
  /** Sampled profiles: 1-sigma error of allocatedBytes, and whether the site is too small to rank at the interval. */
  bytesError?: number;
  belowResolution?: boolean;
  stack: string[];
}

/** Registers `profile` and `hotspots` on the alloclab program. */
export function registerProfileCommands(program: Command): void {
  program
    .command('profile')
    .description('record an allocation profile: alloclab profile SCENARIO, or alloclab profile [options] -- BINARY ARGS...')
    .argument('<target...>', 'a scenario file, or (after --) the binary and its arguments')
    .addOption(new Option('--backend <id>', 'attribution backend').choices(listBackends().map((b) => b.id)))
    .option('--duration <d>', 'how long to run a binary (it is stopped after that), e.g. 10s', '10s')
    .option('--env <id>', 'allocator environment to run the target under (an id of `alloclab allocators`; probe-sampled only: the other backends fix their own)')
    .option('--interval <bytes>', 'probe-sampled: mean bytes between samples (default 524288)')
    .option('--lg-prof-interval <n>', 'jemalloc-prof: a heap dump every 2^N bytes allocated', '24')
    .option('--out <dir>', 'exact run folder')
    .option('--runs-dir <dir>', 'parent folder of run folders', DEFAULT_RUNS_DIR)
    .addOption(new Option('--by <ranking>', 'ranking printed at the end').choices([...RANKINGS]))
    .option('--top <n>', 'rows printed', '10')
    .option('--json', 'print one JSON document')
    .action(async (target: string[], opts: ProfileCliOptions) => {
      const isScenario = target.length === 1 && /\.json$/.test(target[0]) && existsSync(target[0]);
      const loaded = isScenario ? loadScenarioFile(target[0]) : null;
      const backend = pickBackend(opts, loaded ? loaded.scenario.target.command : target[0], loaded?.scenario.profile);
      const envId = opts.env ?? null;
      if (envId) checkEnvironment(backend, envId);
      const runDir = path.resolve(opts.out ?? path.join(opts.runsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-profile-${backend.id}`));
      let profile: AllocationProfile;
      let profileDir: string;
      if (isScenario) {
        ({ profile, profileDir } = await profileScenario(loaded!, backend, envId ?? backend.environment, runDir, !!opts.json));
      } else {
        const [command, ...args] = target;
        const durationMs = duration(opts.duration);
        createRunFolder(runDir);
        if (!opts.json) process.stderr.write(`Profiling ${command} with ${backend.id} for up to ${opts.duration} (${backend.cost})\n`);
        const r = await withStopSignals((signal) => runProfiled({
          backend, command: path.isAbsolute(command) || !command.includes('/') ? command : path.resolve(command), args, durationMs,
          outDir: runDir, signal, env: envId ? allocatorEnv(envId) : {},
        }));
        profile = r.profile;
        profileDir = runDir;
        if (!r.stopped && r.exitCode !== 0) {
          process.stderr.write(`note: the target ${r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`} (output in ${path.join(runDir, TARGET_LOG)}); the profile covers its run until then.\n`);
        }
      }
      printHotspots(profile, profileDir, { by: opts.by, top: Number(opts.top), json: !!opts.json });
    });

  program
    .command('hotspots')
    .description('rank the allocation sites of a profile (run folder, profile.json, heaptrack .zst, massif.out, jemalloc .heap dumps)')
    .argument('<path>', 'run folder or profile file')
    .addOption(new Option('--by <ranking>', 'growth (default), peak, calls or leaked').choices([...RANKINGS]))
    .option('--top <n>', 'rows', '20')
    .option('--workspace <dir...>', 'workspace roots to map source files into (default: the current folder)')
    .option('--baseline <path>', 'an earlier profile: list the sites by how much they changed since it')
    .option('--env <id>', 'in a run folder with several environments, the profile of this one (e.g. glibc)')
    .addOption(new Option('--format <format>', 'output: a table (default), or pprof (profile.proto, gzipped; needs -o)').choices(['table', 'pprof']))
    .option('-o, --output <file>', 'with --format pprof: the file to write (e.g. heap.pb.gz)')
    .option('--json', 'print one JSON document')
    .action(async (p: string, opts: { by?: Ranking; top: string; json?: boolean; workspace?: string[]; baseline?: string; env?: string; format?: string; output?: string }) => {
      const where = findProfile(path.resolve(p), opts.env);
      const profile = await openProfile(where);
      if (opts.format === 'pprof') {
        if (!opts.output) throw new AlloclabError('--format pprof writes a binary file: give it with -o FILE (e.g. -o heap.pb.gz)', 'input');
        writeFileSync(opts.output, writePprof(profile));
        process.stderr.write(`Wrote ${opts.output} (profile.proto, ${profile.sites.length} stacks from ${profile.backend}); read it with \`go tool pprof -top ${opts.output}\`.\n`);
        return;
      }
      if (opts.baseline) {
        const base = await openProfile(findProfile(path.resolve(opts.baseline)));
        printDiff(base, profile, { by: opts.by ?? 'peak', top: Number(opts.top), json: !!opts.json });
        return;
      }
      printHotspots(profile, where, { by: opts.by, top: Number(opts.top), json: !!opts.json, workspaceRoots: opts.workspace?.map((w) => path.resolve(w)) });
    });
}

interface ProfileCliOptions {
  backend?: string; duration: string; lgProfInterval: string; out?: string; runsDir: string; by?: Ranking; top: string; json?: boolean;
  env?: string; interval?: string;
}

function duration(text: string): number {
  try {
    return parsePositiveDuration(text);
  } catch (e) {
    throw new AlloclabError(`--duration: ${(e as Error).message}`, 'input');
  }
}

/**
 * The backend: --backend, else the scenario's "profile" field, else the first one (cheapest) that is installed
 * and reaches the binary: probe-sampled whenever the probe applies.
 */
function pickBackend(opts: ProfileCliOptions, binary: string, fromScenario?: { backend?: string; intervalBytes?: number }): AttributionBackend {
  const lg = Number(opts.lgProfInterval);
  if (!Number.isInteger(lg) || lg < 10 || lg > 40) throw new AlloclabError('--lg-prof-interval must be an integer between 10 and 40', 'input');
  const interval = opts.interval != null ? Number(opts.interval) : fromScenario?.intervalBytes;
  if (interval != null && (!Number.isInteger(interval) || interval < 1)) throw new AlloclabError('--interval must be a positive whole number of bytes (e.g. 524288)', 'input');
  const options = { jemalloc: { lgProfInterval: lg }, probe: { intervalBytes: interval } };
  const id = opts.backend ?? fromScenario?.backend;
  if (id) return getBackend(id, options);
  const all = listBackends(options);
  const fits = (b: AttributionBackend) => b.available().ok && (b.anyEnvironment || !opts.env || opts.env === b.environment);
  const ok = all.find((b) => fits(b) && b.canApplyTo(binary).ok) ?? all.find(fits);
  if (ok) return ok;
  const first = all[0].available();
  throw new BackendUnavailableError(all[0].id, first.reason ?? 'unavailable', first.debianPackage);
}

/** An --env the backend cannot honour is an input error (jemalloc-prof needs jemalloc; massif replaces malloc). */
function checkEnvironment(backend: AttributionBackend, envId: string): void {
  if (backend.anyEnvironment || envId === backend.environment) return;
  throw new AlloclabError(`--env ${envId} clashes with the ${backend.id} backend: it runs the target under ${backend.environment} (${backend.label}). Profile under ${envId} with --backend probe-sampled, or drop --env.`, 'input');
}

/** The variables that put the target under an allocator environment (LD_PRELOAD and the profile's own). */
function allocatorEnv(envId: string): Record<string, string> {
  const [profile] = resolveEnvironments([envId]);
  if (!profile.available) throw new AlloclabError(`--env ${envId}: ${profile.unavailableReason ?? 'not available on this system'}`, 'environment');
  return composeEnvironment({}, {}, profile).applied;
}

/** A scenario run with the backend wrapping the target; the profile lands in the environment's folder. */
async function profileScenario(loaded: ReturnType<typeof loadScenarioFile>, backend: AttributionBackend, environment: string, runDir: string, quiet: boolean): Promise<{ profile: AllocationProfile; profileDir: string }> {
  const avail = backend.available();
  if (!avail.ok) throw new BackendUnavailableError(backend.id, avail.reason ?? 'unavailable', avail.debianPackage);
  let result: { profile: AllocationProfile; profileDir: string } | null = null;
  let failure: Error | null = null;
  await withStopSignals(async (signal) => {
    await executeRun({
      kind: 'profile', loaded, runsDir: path.dirname(runDir), outDir: runDir, signal,
      environments: [environment],
      hooks: profilingHooks(backend, {
        profile: (profile, envDir) => (result = { profile, profileDir: envDir }),
        error: (e) => (failure = e),
      }),
    }, { progress: (m) => !quiet && process.stderr.write(m + '\n') });
  });
  if (failure) throw failure;
  if (!result) throw new AlloclabError(`No profile was recorded (see ${runDir}).`, 'failure');
  return result;
}


/** A run folder may hold profile.json itself or in its environment folders (01-glibc, ...); envId picks one. */
function findProfile(p: string, envId?: string): string {
  if (!existsSync(p) || !statSync(p).isDirectory()) return p;
  if (!envId && existsSync(path.join(p, PROFILE_JSON))) return p;
  const envDirs = readdirSync(p).sort().filter((name) => statSync(path.join(p, name)).isDirectory() && existsSync(path.join(p, name, PROFILE_JSON)));
  if (envId) {
    const dir = envDirs.find((name) => name.replace(/^\d+-/, '').replace(/-r\d+$/, '') === envId);
    if (!dir) throw new AlloclabError(`--env ${envId}: ${p} has no profile of that environment (it has: ${envDirs.map((n) => n.replace(/^\d+-/, '')).join(', ') || 'none'})`, 'input');
    return path.join(p, dir);
  }
  return envDirs.length ? path.join(p, envDirs[0]) : p;
}

function printHotspots(profile: AllocationProfile, where: string, o: { by?: Ranking; top: number; json: boolean; workspaceRoots?: string[] }): void {
  if (!Number.isInteger(o.top) || o.top < 1) throw new AlloclabError('--top must be a positive integer', 'input');
  const by: Ranking = o.by ?? (profile.capabilities.growth ? 'growth' : supportedRankings(profile)[0] ?? 'growth');
  const rows = rankHotspots(profile, by, { top: o.top, windows: profile.windows });
  const roots = o.workspaceRoots ?? [process.cwd()];
  if (o.json) {
    const hotspots: HotspotJson[] = rows.map((h) => toJson(h, roots));
    process.stdout.write(JSON.stringify({ profile: where, backend: profile.backend, ranking: by, capabilities: profile.capabilities, sampled: profile.sampled, warnings: notes(profile, rows, by), hotspots }, null, 2) + '\n');
    return;
  }
  const exact = (h: Hotspot) => ({ growth: formatGrowth(h.growthBytesPerMin), peak: formatMiB(h.peakBytes), calls: String(h.allocations ?? '-'), leaked: formatMiB(h.leakedBytes) })[by];
  // A sampled site too small to rank at the interval is an estimate with a large error: marked, never a bare zero.
  const value = (h: Hotspot) => (h.belowResolution ? `~${exact(h)} (below resolution)` : exact(h));
  const how = profile.sampling ? `, sampled every ${Math.round(profile.sampling.intervalBytes / 1024)} KiB on average, stacks by ${profile.sampling.unwinder}` : profile.sampled ? ', sampled estimates' : '';
  process.stdout.write(`Hotspots by ${by} (${profile.backend}${how}) in ${path.relative(process.cwd(), where) || '.'}\n`);
  // The ranked figure first; peak beside it as the sense of scale (unless peak is what is ranked).
  const lines = rows.map((h) => [String(h.rank), value(h), ...(by === 'peak' ? [] : [formatMiB(h.peakBytes)]), where2(h)]);
  const head = ['#', by, ...(by === 'peak' ? [] : ['peak']), 'site'];
  const w = head.map((x, i) => Math.max(x.length, ...lines.map((l) => l[i].length)));
  for (const l of [head, ...lines]) process.stdout.write(l.map((c, i) => (i === l.length - 1 ? c : c.padStart(w[i]))).join('  ') + '\n');
  for (const warning of notes(profile, rows, by)) process.stdout.write(`note: ${warning}\n`);
}

function printDiff(base: AllocationProfile, profile: AllocationProfile, o: { by: Ranking; top: number; json: boolean }): void {
  if (!Number.isInteger(o.top) || o.top < 1) throw new AlloclabError('--top must be a positive integer', 'input');
  const rows = diffProfiles(base, profile, o.by, { windows: profile.windows }).slice(0, o.top);
  if (o.json) {
    const diff = rows.map((d) => ({ function: d.function, file: d.file, line: d.line, before: d.before?.value ?? null, after: d.after?.value ?? null, delta: d.delta }));
    process.stdout.write(JSON.stringify({ ranking: o.by, baseline: base.sources, profile: profile.sources, diff }, null, 2) + '\n');
    return;
  }
  const fmt = (v: number | null | undefined) => (v == null ? '-' : o.by === 'calls' ? String(Math.round(v)) : o.by === 'growth' ? formatGrowth(v) : formatMiB(v));
  process.stdout.write(`Change in ${o.by} since the baseline (${base.backend} -> ${profile.backend})\n`);
  for (const d of rows) {
    const sign = d.delta > 0 ? '+' : '';
    process.stdout.write(`${(sign + fmt(d.delta)).padStart(16)}  ${fmt(d.before?.value).padStart(14)} -> ${fmt(d.after?.value).padEnd(14)}  ${d.function ?? '??'} (${d.file ?? '?'}:${d.line ?? '?'})\n`);
  }
}

function notes(profile: AllocationProfile, rows: Hotspot[], by: Ranking): string[] {
  const out = [...profile.warnings];
  if (by === 'growth' && rows.length && rows.every((h) => h.growthBytesPerMin == null)) {
    out.push(`fewer than two snapshots${profile.windows ? ' inside the load phases' : ''}: growth cannot be measured.${profile.backend === 'jemalloc-prof' ? ' Dump more often with a lower --lg-prof-interval (each step halves the bytes between dumps).' : ' Run longer.'}`);
  }
  return out;
}

function where2(h: Hotspot): string {
  return describeFrame(h.frames[h.userFrame] ?? { function: h.function, file: h.file, line: h.line, module: h.module, address: h.address });
}

function toJson(h: Hotspot, roots: string[]): HotspotJson {
  return {
    rank: h.rank,
    function: h.function,
    file: h.file,
    line: h.line,
    module: h.module,
    workspaceFile: mapToWorkspace(h.file, { workspaceRoots: roots }),
    growthBytesPerMin: h.growthBytesPerMin == null ? null : Math.round(h.growthBytesPerMin),
    peakBytes: h.peakBytes,
    allocations: h.allocations,
    allocatedBytes: h.allocatedBytes,
    leakedBytes: h.leakedBytes,
    ...(h.bytesError != null ? { bytesError: h.bytesError, belowResolution: !!h.belowResolution } : {}),
    stack: h.frames.map(describeFrame),
  };
}
