// `alloclab profile` (record an allocation profile) and `alloclab hotspots` (rank its sites by source line).
import { existsSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { AlloclabError } from '../core/errors';
import {
  BackendUnavailableError, describeFrame, diffProfiles, findProfiles, getBackend, listBackends, mapToWorkspace, openProfile, rankHotspots,
  RANKINGS, supportedRankings, type AllocationProfile, type AttributionBackend, type Hotspot, type ProfileLocation, type Ranking,
} from '../core/profilers';
import { writePprof } from '../core/profilers/pprof';
import { profileRun, type ProfileTarget } from '../core/runs/profile';
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
    .addOption(new Option('--unwinder <method>', 'probe-sampled: how stacks are captured (auto: frame pointers where they agree with the unwinder)').choices(['auto', 'fp', 'libunwind', 'gcc']))
    .option('--depth <frames>', 'probe-sampled: frames kept per stack (default 64, at most 128)')
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
      let profileTarget: ProfileTarget;
      if (loaded) profileTarget = { scenario: loaded };
      else {
        const [command, ...args] = target;
        const durationMs = duration(opts.duration);
        if (!opts.json) process.stderr.write(`Profiling ${command} with ${backend.id} for up to ${opts.duration} (${backend.cost})\n`);
        profileTarget = { command: path.isAbsolute(command) || !command.includes('/') ? command : path.resolve(command), args, durationMs, cwd: process.cwd() };
      }
      const outcome = await withStopSignals((signal) => profileRun({
        backend, target: profileTarget, environment: opts.env, runsDir: path.resolve(opts.runsDir), outDir: opts.out ? path.resolve(opts.out) : undefined, signal,
      }, { progress: (m) => !opts.json && isScenario && process.stderr.write(m + '\n') }));
      if (!outcome.profiles.length) throw new AlloclabError(`No profile was recorded (see ${outcome.runDir}).`, 'failure');
      for (const env of outcome.record.environments) {
        // A binary that ends on its own is normal here; say how it ended when that was not a clean exit.
        if (!isScenario && env.exit && !env.exit.expected && (env.exit.code !== 0 || env.exit.signal)) {
          const envDir = path.join(outcome.runDir, env.dir);
          process.stderr.write(`note: the target ${env.exit.signal ? `was killed by ${env.exit.signal}` : `exited with code ${env.exit.code}`} (output in ${path.join(envDir, 'stdout.log')} and ${path.join(envDir, 'stderr.log')}); the profile covers its run until then.\n`);
        }
      }
      await printProfiles(findProfiles(outcome.runDir), { by: opts.by, top: Number(opts.top), json: !!opts.json });
    });

  program
    .command('hotspots')
    .description('rank the allocation sites of a profile (run folder, profile.json, heaptrack .zst, massif.out, jemalloc .heap dumps)')
    .argument('<path>', 'run folder or profile file')
    .addOption(new Option('--by <ranking>', 'growth (default), peak, calls or leaked (not freed at exit)').choices([...RANKINGS]))
    .option('--top <n>', 'rows', '20')
    .option('--workspace <dir...>', 'workspace roots to map source files into (default: the current folder)')
    .option('--baseline <path>', 'an earlier profile: list the sites by how much they changed since it')
    .option('--env <id>', 'in a run folder with several environments, the profile of this one (e.g. glibc)')
    .addOption(new Option('--format <format>', 'output: a table (default), or pprof (profile.proto, gzipped; needs -o)').choices(['table', 'pprof']))
    .option('-o, --output <file>', 'with --format pprof: the file to write (e.g. heap.pb.gz)')
    .option('--json', 'print one JSON document')
    .action(async (p: string, opts: { by?: Ranking; top: string; json?: boolean; workspace?: string[]; baseline?: string; env?: string; format?: string; output?: string }) => {
      const found = findProfiles(p, opts.env);
      if (opts.format === 'pprof') {
        if (!opts.output) throw new AlloclabError('--format pprof writes a binary file: give it with -o FILE (e.g. -o heap.pb.gz)', 'input');
        const profile = await openProfile(found[0].path);
        writeFileSync(opts.output, writePprof(profile));
        process.stderr.write(`Wrote ${opts.output} (profile.proto, ${profile.sites.length} stacks from ${profile.backend}); read it with \`go tool pprof -top ${opts.output}\`.\n`);
        return;
      }
      if (opts.baseline) {
        const [base, profile] = await Promise.all([findProfiles(opts.baseline)[0], found[0]].map((l) => openProfile(l.path)));
        printDiff(base, profile, { by: opts.by ?? 'peak', top: Number(opts.top), json: !!opts.json });
        return;
      }
      await printProfiles(found, { by: opts.by, top: Number(opts.top), json: !!opts.json, workspaceRoots: opts.workspace?.map((w) => path.resolve(w)) });
    });
}

interface ProfileCliOptions {
  backend?: string; duration: string; lgProfInterval: string; out?: string; runsDir: string; by?: Ranking; top: string; json?: boolean;
  env?: string; interval?: string; unwinder?: 'auto' | 'fp' | 'libunwind' | 'gcc'; depth?: string;
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
function pickBackend(opts: ProfileCliOptions, binary: string, fromScenario?: { backend?: string; intervalBytes?: number; unwinder?: 'auto' | 'fp' | 'libunwind' | 'gcc'; maxDepth?: number }): AttributionBackend {
  const lg = Number(opts.lgProfInterval);
  if (!Number.isInteger(lg) || lg < 10 || lg > 40) throw new AlloclabError('--lg-prof-interval must be an integer between 10 and 40', 'input');
  const interval = opts.interval != null ? Number(opts.interval) : fromScenario?.intervalBytes;
  if (interval != null && (!Number.isInteger(interval) || interval < 1)) throw new AlloclabError('--interval must be a positive whole number of bytes (e.g. 524288)', 'input');
  const depth = opts.depth != null ? Number(opts.depth) : fromScenario?.maxDepth;
  if (depth != null && (!Number.isInteger(depth) || depth < 1 || depth > 128)) throw new AlloclabError('--depth must be a whole number of frames from 1 to 128', 'input');
  const options = { jemalloc: { lgProfInterval: lg }, probe: { intervalBytes: interval, maxDepth: depth, unwinder: opts.unwinder ?? fromScenario?.unwinder } };
  const id = opts.backend ?? fromScenario?.backend;
  if (id) return getBackend(id, options);
  const all = listBackends(options);
  const fits = (b: AttributionBackend) => b.available().ok && (b.anyEnvironment || !opts.env || opts.env === b.environment);
  const ok = all.find((b) => fits(b) && b.canApplyTo(binary).ok) ?? all.find(fits);
  if (ok) return ok;
  const first = all[0].available();
  throw new BackendUnavailableError(all[0].id, first.reason ?? 'unavailable', first.debianPackage);
}

type PrintOptions = { by?: Ranking; top: number; json: boolean; workspaceRoots?: string[] };

/** Ranks every profile found (each environment of a run folder, as the editor does), one table each. */
async function printProfiles(found: ProfileLocation[], o: PrintOptions): Promise<void> {
  if (!Number.isInteger(o.top) || o.top < 1) throw new AlloclabError('--top must be a positive integer', 'input');
  const ranked = await Promise.all(found.map(async (l) => ({ ...l, ...rankProfile(await openProfile(l.path), l.path, o) })));
  if (o.json) {
    // The first environment's figures stay at the top level; every environment is in `environments`.
    const docs = ranked.map((r) => r.json);
    process.stdout.write(JSON.stringify({ ...docs[0], environments: ranked.map((r) => ({ environment: r.label, ...r.json })) }, null, 2) + '\n');
    return;
  }
  ranked.forEach((r, i) => process.stdout.write((i ? '\n' : '') + r.text));
}

/** One profile ranked: the --json document and the table. */
function rankProfile(profile: AllocationProfile, where: string, o: PrintOptions): { json: Record<string, unknown>; text: string } {
  const by: Ranking = o.by ?? (profile.capabilities.growth ? 'growth' : supportedRankings(profile)[0] ?? 'growth');
  const rows = rankHotspots(profile, by, { top: o.top, windows: profile.windows });
  const roots = o.workspaceRoots ?? [process.cwd()];
  const hotspots: HotspotJson[] = rows.map((h) => toJson(h, roots));
  // A sampling backend's counters (samples, dropped, ...) travel with the figures they qualify.
  const json = { profile: where, backend: profile.backend, ranking: by, capabilities: profile.capabilities, sampled: profile.sampled, ...(profile.sampling ? { sampling: profile.sampling } : {}), warnings: notes(profile, rows, by), hotspots };
  const exact = (h: Hotspot) => ({ growth: formatGrowth(h.growthBytesPerMin), peak: formatMiB(h.peakBytes), calls: String(h.allocations ?? '-'), leaked: formatMiB(h.leakedBytes) })[by];
  // A sampled site too small to rank at the interval is an estimate with a large error: marked, never a bare zero.
  const value = (h: Hotspot) => (h.belowResolution ? `~${exact(h)} (below resolution)` : exact(h));
  const how = profile.sampling ? `, sampled every ${Math.round(profile.sampling.intervalBytes / 1024)} KiB on average, stacks by ${profile.sampling.unwinder}` : profile.sampled ? ', sampled estimates' : '';
  let text = `Hotspots by ${by} (${profile.backend}${how}) in ${path.relative(process.cwd(), where) || '.'}\n`;
  // The ranked figure first; peak beside it as the sense of scale (unless peak is what is ranked).
  const lines = rows.map((h) => [String(h.rank), value(h), ...(by === 'peak' ? [] : [formatMiB(h.peakBytes)]), where2(h)]);
  // `leaked` ranks what was not freed at exit: a cache kept to the end is not a leak, and no backend tells them apart.
  const head = ['#', by === 'leaked' ? 'not freed at exit' : by, ...(by === 'peak' ? [] : ['peak']), 'site'];
  const w = head.map((x, i) => Math.max(x.length, ...lines.map((l) => l[i].length)));
  for (const l of [head, ...lines]) text += l.map((c, i) => (i === l.length - 1 ? c : c.padStart(w[i]))).join('  ') + '\n';
  for (const warning of notes(profile, rows, by)) text += `note: ${warning}\n`;
  return { json, text };
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
  // The same layout as the hotspots table: a header row, figures right-aligned, the site last.
  const lines = rows.map((d) => [`${d.delta > 0 ? '+' : ''}${fmt(d.delta)}`, fmt(d.before?.value), fmt(d.after?.value), `${d.function ?? '??'} (${d.file ?? '?'}:${d.line ?? '?'})`]);
  const head = ['change', 'baseline', 'now', 'site'];
  const w = head.map((x, i) => Math.max(x.length, ...lines.map((l) => l[i].length)));
  for (const l of [head, ...lines]) process.stdout.write(l.map((c, i) => (i === l.length - 1 ? c : c.padStart(w[i]))).join('  ') + '\n');
}

function notes(profile: AllocationProfile, rows: Hotspot[], by: Ranking): string[] {
  const out = [...profile.warnings];
  if (by === 'growth' && rows.length && rows.every((h) => h.growthBytesPerMin == null)) {
    out.push(`fewer than two snapshots${profile.windows ? ' inside the load phases' : ''}: growth cannot be measured. ${listBackends().find((b) => b.id === profile.backend)?.fewSnapshotsHint ?? 'Run longer.'}`);
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
