// `alloclab`: the command line over the same engine the editor uses. Exit codes: 0 ok, 1 run failed,
// 2 usage or input error, 3 a regression threshold was crossed, 130 interrupted.
import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { discoverAllocators, type CustomAllocatorSpec, type DiscoveryOptions } from '../core/allocators';
import { computeEnvironmentMetrics } from '../core/analysis/metrics';
import { judgeRun } from '../core/analysis/verdict';
import { AlloclabError, type ErrorKind } from '../core/errors';
import { killAllTargets } from '../core/launch';
import { withStopSignals } from './signals';
import type { EnvironmentRecord, RunRecord } from '../core/model';
import { compareScenario, executeRun, type RunObserver, type RunRequest } from '../core/runs/runner';
import { openRun } from '../core/runs/store';
import { loadScenarioFile } from '../core/stress/scenario';
import { formatGrowth, formatMiB, parsePositiveDuration } from '../core/units';
import { renderTable, runJson, runStateNotes } from './output';
import { applyGate, prepareGate, type Gate } from './gate';
import { writeHtmlReport as writeReport } from '../core/report/html';
import { trimCommand } from './trim';
import { watchCommand } from './watch';
import { registerProfileCommands } from './hotspots';

const DEFAULT_RUNS_DIR = path.join('.alloclab', 'runs');

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function parseCustom(specs: string[]): CustomAllocatorSpec[] {
  return specs.map((s) => {
    const i = s.indexOf('=');
    if (i <= 0 || i === s.length - 1) throw new AlloclabError(`--allocator expects NAME=LIBRARY_PATH, got "${s}"`, 'input');
    return { id: s.slice(0, i), library: path.resolve(s.slice(i + 1)) };
  });
}

function allocatorOptions(opts: { allocator: string[] }): DiscoveryOptions {
  return { custom: parseCustom(opts.allocator ?? []) };
}

function envList(text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const ids = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (!ids.length) throw new AlloclabError(`--env "${text}" names no environment; give ids such as glibc,jemalloc (see \`alloclab allocators\`)`, 'input');
  return ids;
}

function durationOption(text: string | undefined): number | undefined {
  if (text == null) return undefined;
  try {
    return parsePositiveDuration(text);
  } catch (e) {
    throw new AlloclabError(`--duration: ${(e as Error).message}`, 'input');
  }
}

/** Live progress on a terminal: one line rewritten in place; nothing when output is not a TTY or --json. */
function progressObserver(quiet: boolean): RunObserver & { end(): void } {
  const tty = process.stderr.isTTY && !quiet;
  let label = '';
  let phase = '';
  let rss = 0;
  // The line follows the newest environment (the one before it may still be idling out).
  let current = -1;
  let last = 0;
  const draw = (force = false) => {
    if (!tty) return;
    const now = Date.now();
    if (!force && now - last < 200) return;
    last = now;
    process.stderr.write(`\r\x1b[K${label} ${phase}  RSS ${formatMiB(rss)}`);
  };
  return {
    environmentStarted(i, env) { current = i; label = env.label; phase = 'starting'; rss = 0; draw(true); },
    samples(i, batch) { if (i === current && batch.length) { rss = batch[batch.length - 1].rssBytes; draw(); } },
    progress(message, index) {
      if (tty) {
        if (index != null && index !== current) return; // one idling out
        phase = message.includes(': ') ? message.slice(message.indexOf(': ') + 2) : message;
        draw(true);
      }
      else if (!quiet) process.stderr.write(message + '\n');
    },
    environmentFinished(_i, env) {
      if (!tty) return;
      process.stderr.write(`\r\x1b[K${env.label}: ${summaryLine(env)}\n`);
    },
    end() { if (tty) process.stderr.write('\r\x1b[K'); },
  };
}

function summaryLine(env: EnvironmentRecord): string {
  if (env.verification && !env.verification.applied) return `not applied (${env.verification.notAppliedReason})`;
  if (env.error && !env.metrics) return `failed: ${env.error}`;
  const m = env.metrics;
  return m ? `peak ${formatMiB(m.peakRssBytes)}, final ${formatMiB(m.finalRssBytes)}, ${formatGrowth(m.growthBytesPerMin)}${env.error ? ` (${env.error})` : ''}` : 'no samples';
}

/** Runs a request with Ctrl-C handling: the first interrupt stops cleanly and keeps the run, the second kills. */
async function runWithSignals(req: Omit<RunRequest, 'signal'>, observer: RunObserver): Promise<{ runDir: string; record: RunRecord }> {
  return withStopSignals((signal) => executeRun({ ...req, signal }, observer));
}

interface RunCliOptions {
  env?: string; duration?: string; out?: string; runsDir: string; json?: boolean; report?: string;
  allowRemote?: boolean; baseline?: string; failOn?: string; allocator: string[]; ledger?: boolean; untilSettled?: boolean;
}

async function finishRun(runDir: string, record: RunRecord, opts: RunCliOptions, prepared: Gate = { thresholds: null, baseline: null }): Promise<number> {
  const run = openRun(runDir);
  if (opts.report) writeReport(run, path.resolve(opts.report));
  const gate = applyGate(run, prepared);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ ...runJson(run), ...(gate.checked ? { thresholds: gate } : {}) }, null, 2) + '\n');
  } else {
    process.stdout.write(renderTable(run) + '\n');
    for (const note of runStateNotes(run)) process.stdout.write(`\n${note}\n`);
    if (record.verdict) process.stdout.write(`\n${record.verdict}\n`);
    process.stdout.write(`\nRun saved in ${path.relative(process.cwd(), runDir) || '.'}${opts.report ? `; report: ${opts.report}` : ''}\n`);
    for (const c of gate.crossed) process.stdout.write(`THRESHOLD CROSSED: ${c}\n`);
  }
  if (record.cancelled) return 130;
  if (gate.crossed.length) return 3;
  // A run in which no environment produced measurements failed, whatever else it recorded.
  if (!Object.keys(record.diagnosis?.environments ?? {}).length) return 1;
  return record.environments.some((e) => e.error) ? 1 : 0;
}

const runsDirOption = () => new Option('--runs-dir <dir>', 'parent folder of run folders').default(DEFAULT_RUNS_DIR);
const allocatorOption = () => new Option('--allocator <name=library>', 'a custom allocator profile (repeatable)').argParser(collect).default([]);

export function buildProgram(): Command {
  const program = new Command('alloclab')
    .description('Run a native service under several allocators, watch RSS over time, and find out where memory goes.')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('allocators')
    .description('list allocator environments and whether they are available here')
    .option('--json', 'print JSON')
    .addOption(allocatorOption())
    .action((opts: { json?: boolean; allocator: string[] }) => {
      const list = discoverAllocators(allocatorOptions(opts));
      if (opts.json) {
        process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        return;
      }
      const w = Math.max(...list.map((p) => p.id.length)) + 2;
      for (const p of list) {
        const state = p.available ? 'available' : `unavailable: ${p.unavailableReason}`;
        process.stdout.write(`${p.id.padEnd(w)}${p.label} - ${state}\n${' '.repeat(w)}${p.description}\n`);
      }
    });

  program
    .command('run')
    .description('run a scenario file (*.alloclab.json) under its allocator environments')
    .argument('<scenario>', 'scenario file')
    .option('--env <ids>', 'comma-separated environments (overrides the scenario)')
    .option('--duration <d>', 'duration of each load phase, e.g. 30s (overrides the scenario)')
    .option('--out <dir>', 'exact run folder')
    .addOption(runsDirOption())
    .option('--json', 'print one JSON document')
    .option('--report <file>', 'write a standalone HTML report')
    .option('--ledger', 'preload the probe: split RSS into live heap and memory held by the allocator')
    .option('--until-settled', 'end each phase once its result is decided; durations become upper bounds')
    .option('--allow-remote', 'allow load to non-loopback targets (the scenario must also set allowRemoteTargets)')
    .option('--baseline <runDir>', 'a previous run to compare against (for --fail-on)')
    .option('--fail-on <thresholds>', 'e.g. "growth>5MiB/min,peak>+20%": exit 3 when crossed')
    .addOption(allocatorOption())
    .action(async (file: string, opts: RunCliOptions) => {
      const loaded = loadScenarioFile(file);
      const gate = prepareGate(opts.failOn ?? loaded.scenario.failOn, opts.baseline);
      const progress = progressObserver(!!opts.json);
      const { runDir, record } = await runWithSignals({
        kind: 'scenario', loaded, environments: envList(opts.env), durationOverrideMs: durationOption(opts.duration),
        runsDir: opts.runsDir, outDir: opts.out, allocators: allocatorOptions(opts), allowRemote: !!opts.allowRemote,
        ledger: opts.ledger ? true : undefined, untilSettled: opts.untilSettled ? true : undefined,
      }, progress);
      progress.end();
      process.exitCode = await finishRun(runDir, record, opts, gate);
    });

  program
    .command('compare')
    .description('run BINARY ARGS under each environment and sample it (no scenario, no load)')
    .option('--env <ids>', 'comma-separated environments', 'glibc,jemalloc')
    .option('--duration <d>', 'how long each environment runs', '30s')
    .option('--interval <ms>', 'sampling interval in milliseconds', '50')
    .option('--out <dir>', 'exact run folder')
    .addOption(runsDirOption())
    .option('--json', 'print one JSON document')
    .option('--report <file>', 'write a standalone HTML report')
    .option('--ledger', 'preload the probe: split RSS into live heap and memory held by the allocator')
    .option('--until-settled', 'end each phase once its result is decided; durations become upper bounds')
    .addOption(allocatorOption())
    .argument('<binary>', 'the program to run')
    .argument('[args...]', 'its arguments (put -- before the binary)')
    .action(async (binary: string, args: string[], opts: RunCliOptions & { interval: string }) => {
      const envs = envList(opts.env) ?? ['glibc', 'jemalloc'];
      const loaded = compareScenario(binary, args, durationOption(opts.duration) ?? 30_000, envs, process.cwd());
      const interval = Number(opts.interval);
      if (!Number.isFinite(interval) || interval < 5 || interval > 10_000) throw new AlloclabError('--interval must be a number of milliseconds from 5 to 10000', 'input');
      loaded.scenario.sampling.intervalMs = interval;
      const progress = progressObserver(!!opts.json);
      const { runDir, record } = await runWithSignals({
        kind: 'compare', loaded, runsDir: opts.runsDir, outDir: opts.out, allocators: allocatorOptions(opts),
        ledger: opts.ledger ? true : undefined, untilSettled: opts.untilSettled ? true : undefined,
      }, progress);
      progress.end();
      process.exitCode = await finishRun(runDir, record, opts);
    });

  program
    .command('show')
    .description('print the comparison of a saved run')
    .argument('<runDir>', 'a run folder')
    .option('--json', 'print one JSON document')
    .option('--report <file>', 'write a standalone HTML report')
    .action((dir: string, opts: { json?: boolean; report?: string }) => {
      const run = openRun(path.resolve(dir));
      // The diagnosis is a pure function of the samples and events: read old runs with the current analysis.
      for (const e of run.environments) if (e.samples.length) e.record.metrics = computeEnvironmentMetrics(e.samples, e.events);
      judgeRun(run.record);
      if (opts.report) writeReport(run, path.resolve(opts.report));
      if (opts.json) process.stdout.write(JSON.stringify(runJson(run), null, 2) + '\n');
      else {
        process.stdout.write(renderTable(run) + '\n');
        for (const note of runStateNotes(run)) process.stdout.write(`\n${note}\n`);
        if (run.record.verdict) process.stdout.write(`\n${run.record.verdict}\n`);
      }
    });

  watchCommand(program);
  trimCommand(program);
  registerProfileCommands(program);
  return program;
}

/** A reader that stops early (`alloclab show RUN | head -1`) closes the pipe: end quietly, as other tools do. */
function quietOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    killAllTargets();
    process.exit(0);
  });
}

/** The exit code of an error kind: 2 for the user's input, 1 for the machine or the run. */
export function exitCodeOf(kind: ErrorKind): 1 | 2 {
  return kind === 'input' ? 2 : 1;
}

export async function main(argv: string[]): Promise<number> {
  process.on('exit', () => killAllTargets());
  quietOnClosedPipe(process.stdout);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof AlloclabError) {
      process.stderr.write(`alloclab: ${e.message}\n`);
      return exitCodeOf(e.kind);
    }
    process.stderr.write(`alloclab: internal error: ${(e as Error).stack ?? e}\n`);
    return 1;
  }
}

// Run only as the CLI bundle itself: a test bundle that imports buildProgram is also `require.main`.
if (require.main === module && path.basename(__filename) === 'cli.js') {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
