// `alloclab profile` (record an allocation profile) and `alloclab hotspots` (rank its sites by source line).
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { AlloclabError } from '../core/errors';
import {
  BackendUnavailableError, describeFrame, profilingHooks, diffProfiles, getBackend, listBackends, mapToWorkspace, openProfile, PROFILE_JSON, rankHotspots,
  RANKINGS, runProfiled, supportedRankings, TARGET_LOG, type AllocationProfile, type AttributionBackend, type Hotspot, type Ranking,
} from '../core/profilers';
import { executeRun } from '../core/runs/runner';
import { loadScenarioFile } from '../core/stress/scenario';
import { formatGrowth, formatMiB, parseDuration } from '../core/units';

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
    .option('--lg-prof-interval <n>', 'jemalloc-prof: a heap dump every 2^N bytes allocated', '24')
    .option('--out <dir>', 'exact run folder')
    .option('--runs-dir <dir>', 'parent folder of run folders', DEFAULT_RUNS_DIR)
    .addOption(new Option('--by <ranking>', 'ranking printed at the end').choices([...RANKINGS]))
    .option('--top <n>', 'rows printed', '10')
    .option('--json', 'print one JSON document')
    .action(async (target: string[], opts: ProfileCliOptions) => {
      const backend = pickBackend(opts);
      const isScenario = target.length === 1 && /\.json$/.test(target[0]) && existsSync(target[0]);
      const runDir = path.resolve(opts.out ?? path.join(opts.runsDir, `${new Date().toISOString().replace(/[:.]/g, '-')}-profile-${backend.id}`));
      let profile: AllocationProfile;
      let profileDir: string;
      if (isScenario) {
        ({ profile, profileDir } = await profileScenario(target[0], backend, runDir, !!opts.json));
      } else {
        const [command, ...args] = target;
        const durationMs = duration(opts.duration);
        const onSignal = () => controller.abort();
        const controller = new AbortController();
        process.on('SIGINT', onSignal);
        try {
          if (!opts.json) process.stderr.write(`Profiling ${command} with ${backend.id} for up to ${opts.duration} (${backend.cost})\n`);
          const r = await runProfiled({
            backend, command: path.isAbsolute(command) || !command.includes('/') ? command : path.resolve(command), args, durationMs,
            outDir: runDir, signal: controller.signal,
          });
          profile = r.profile;
          profileDir = runDir;
          if (!r.stopped && r.exitCode !== 0) {
            process.stderr.write(`note: the target ${r.signal ? `was killed by ${r.signal}` : `exited with code ${r.exitCode}`} (output in ${path.join(runDir, TARGET_LOG)}); the profile covers its run until then.\n`);
          }
        } finally {
          process.off('SIGINT', onSignal);
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
    .option('--json', 'print one JSON document')
    .action(async (p: string, opts: { by?: Ranking; top: string; json?: boolean; workspace?: string[]; baseline?: string }) => {
      const where = findProfile(path.resolve(p));
      const profile = await openProfile(where);
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
}

function duration(text: string): number {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new AlloclabError(`--duration: ${(e as Error).message}`, 'input');
  }
}

function pickBackend(opts: ProfileCliOptions): AttributionBackend {
  const lg = Number(opts.lgProfInterval);
  if (!Number.isInteger(lg) || lg < 10 || lg > 40) throw new AlloclabError('--lg-prof-interval must be an integer between 10 and 40', 'input');
  const options = { jemalloc: { lgProfInterval: lg } };
  if (opts.backend) return getBackend(opts.backend, options);
  const all = listBackends(options);
  const ok = all.find((b) => b.available().ok);
  if (ok) return ok;
  const first = all[0].available();
  throw new BackendUnavailableError(all[0].id, first.reason ?? 'unavailable', first.debianPackage);
}

/** A scenario run with the backend wrapping the target; the profile lands in the environment's folder. */
async function profileScenario(file: string, backend: AttributionBackend, runDir: string, quiet: boolean): Promise<{ profile: AllocationProfile; profileDir: string }> {
  const avail = backend.available();
  if (!avail.ok) throw new BackendUnavailableError(backend.id, avail.reason ?? 'unavailable', avail.debianPackage);
  const loaded = loadScenarioFile(file);
  let result: { profile: AllocationProfile; profileDir: string } | null = null;
  let failure: Error | null = null;
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  try {
    await executeRun({
      kind: 'profile', loaded, runsDir: path.dirname(runDir), outDir: runDir, signal: controller.signal,
      environments: [backend.environment],
      hooks: profilingHooks(backend, {
        profile: (profile, envDir) => (result = { profile, profileDir: envDir }),
        error: (e) => (failure = e),
      }),
    }, { progress: (m) => !quiet && process.stderr.write(m + '\n') });
  } finally {
    process.off('SIGINT', onSignal);
  }
  if (failure) throw failure;
  if (!result) throw new AlloclabError(`No profile was recorded (see ${runDir}).`, 'failure');
  return result;
}


/** A run folder may hold profile.json itself or in its environment folders. */
function findProfile(p: string): string {
  if (!existsSync(p) || !statSync(p).isDirectory()) return p;
  if (existsSync(path.join(p, PROFILE_JSON))) return p;
  for (const name of readdirSync(p).sort()) {
    const sub = path.join(p, name);
    if (statSync(sub).isDirectory() && existsSync(path.join(sub, PROFILE_JSON))) return sub;
  }
  return p;
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
  const value = (h: Hotspot) => ({ growth: formatGrowth(h.growthBytesPerMin), peak: formatMiB(h.peakBytes), calls: String(h.allocations ?? '-'), leaked: formatMiB(h.leakedBytes) })[by];
  process.stdout.write(`Hotspots by ${by} (${profile.backend}${profile.sampled ? ', sampled estimates' : ''}) in ${path.relative(process.cwd(), where) || '.'}\n`);
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
    stack: h.frames.map(describeFrame),
  };
}
