// Accuracy of the diagnosis: every case of the labelled corpus (native/diagnosis/cases/*.truth.json) run through
// the built CLI as a user runs it (`bin/alloclab run SCENARIO --json`), under the environments its scenario names,
// `--reps` times, without and with the ledger, without and with --until-settled. Prints the confusion matrix
// (truth x finding) and the accuracy of each configuration, and the time to a finding per case. Then, with
// --debian, the same engine on real programs from Debian under their own benchmark clients (bench/diagnosis/):
// what it said, and whether that was right by our reading of the program. Thresholds are never tuned to these.
//
//   npm run build && make -C native && npm run bench -- diagnosis [--reps 3] [--derive] [--cases a,b] [--ledger off,on]
//        [--settled off,on] [--ci] [--debian | --debian-only] [--demo | --demo-only] [--keep DIR | --from DIR] [--write]
//
// --demo: the demo's matrix (examples/demo.alloclab.json, six environments) with fixed 60 s load phases and with
// --until-settled, `--reps` times each: the findings, and the wall time of each run (the goal: the same findings in
// under 2 minutes). --ci: only the cases whose truth file says "ci": true, once each. --write: section "Diagnosis accuracy" of
// bench/RESULTS.md. --keep DIR keeps every run folder (and its wall time) under DIR; --from DIR runs nothing and
// reads the findings of those runs again with `alloclab show --json` (the analysis of today on yesterday's samples).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../src/core/workers';
import { deriveRun } from './support/deriveRun';
import { writeResultsSection } from './support/results';

const root = packageRoot();
const cli = path.join(root, 'bin', 'alloclab');
const casesDir = path.join(root, 'native', 'diagnosis', 'cases');
const debianDir = path.join(root, 'bench', 'diagnosis');
const FINDINGS = ['leak', 'allocator-retention', 'application-memory', 'non-heap-growth', 'stable', 'inconclusive'];

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const ci = flag('ci');
const reps = Number(option('reps') ?? (ci ? 1 : 3));
// Repetitions may run as separate invocations (--first-rep 2 --reps 1 ...), each keeping its runs under --keep.
const firstRep = Number(option('first-rep') ?? 1);
const repNumbers = Array.from({ length: reps }, (_, i) => firstRep + i);
const onlyCases = option('cases')?.split(',');
const ledgerModes = (option('ledger') ?? 'off,on').split(',').map((s) => s === 'on');
const settledModes = (option('settled') ?? 'off,on').split(',').map((s) => s === 'on');
const debianOnly = flag('debian-only');
const debian = flag('debian') || debianOnly;
const demoOnly = flag('demo-only');
const demo = flag('demo') || demoOnly;
const write = flag('write');
const keepDir = option('keep') ? path.resolve(option('keep')!) : null;
const fromDir = option('from') ? path.resolve(option('from')!) : null;
// --derive (with --from): a configuration that was not kept is derived from the kept run with the ledger and fixed
// durations of the same case and repetition (bench/support/deriveRun.ts): the same samples judged without the
// ledger, and/or with each phase ended where --until-settled would have ended it.
// --rederive: every configuration is derived so, even where a real run of it was kept (to judge a change of the
// engine or of the settler on the same samples in every column).
const rederive = flag('rederive');
const derive = flag('derive') || rederive;

interface Truth {
  case: string;
  program: string;
  scenario: string;
  expected: { withoutLedger: string; withLedger: string };
  why: string;
  whyTheyDiffer?: string;
  ci?: boolean;
}

interface Outcome {
  finding: string;
  confidence: string | null;
  summary: string | null;
  wallMs: number;
  exitCode: number | null;
  environments: { env: string; applied: boolean; notAppliedReason: string | null; phases: { phase: string; endMs: number; startMs: number }[] }[];
  error: string | null;
  /** Judged from the kept run with the ledger and fixed durations (--derive), not run in this configuration. */
  derived?: boolean;
}

const tmp = mkdtempSync(path.join(tmpdir(), 'alloclab-bench-diagnosis-'));
if (keepDir) mkdirSync(keepDir, { recursive: true });

/** One run of a scenario through the CLI; the finding is `diagnosis.finding` of its --json document. */
function runScenario(scenario: string, ledger: boolean, settled: boolean, label: string, source?: string): Outcome | null {
  const name = label.replace(/[^\w.-]+/g, '_');
  const out = path.join(fromDir ?? keepDir ?? tmp, name);
  const meta = `${out}.meta.json`;
  let r: SpawnSyncReturns<string>;
  let wallMs: number;
  if (fromDir && derive && source && source !== name && (!existsSync(meta) || rederive)) return derivedOutcome(path.join(fromDir, source), ledger, settled);
  if (fromDir) {
    if (!existsSync(meta)) return null; // not kept (fewer repetitions of this configuration): counted as not run
    wallMs = (JSON.parse(readFileSync(meta, 'utf8')) as { wallMs: number }).wallMs;
    r = spawnSync(process.execPath, [cli, 'show', out, '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  } else {
    const args = [cli, 'run', scenario, '--json', '--out', out];
    if (ledger) args.push('--ledger');
    if (settled) args.push('--until-settled');
    const started = Date.now();
    r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 64 << 20 });
    wallMs = Date.now() - started;
    if (keepDir) writeFileSync(meta, JSON.stringify({ scenario, ledger, settled, wallMs, exitCode: r.status }) + '\n');
    else rmSync(out, { recursive: true, force: true });
  }
  let doc: {
    diagnosis?: { finding?: string; confidence?: string; summary?: string };
    environments?: { env: string; applied: boolean; notAppliedReason: string | null; phases?: { phase: string; startMs: number; endMs: number }[] }[];
  } | null = null;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    doc = null;
  }
  const error = doc ? null : (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n').slice(-3).join(' ');
  return {
    finding: doc?.diagnosis?.finding ?? (doc ? '(none)' : '(failed)'),
    confidence: doc?.diagnosis?.confidence ?? null,
    summary: doc?.diagnosis?.summary ?? null,
    wallMs,
    exitCode: r.status,
    environments: (doc?.environments ?? []).map((e) => ({ env: e.env, applied: e.applied, notAppliedReason: e.notAppliedReason, phases: e.phases ?? [] })),
    error,
  };
}

/** The outcome of a kept run (ledger, fixed durations) judged as another configuration would have judged it. */
function derivedOutcome(dir: string, ledger: boolean, settled: boolean): Outcome | null {
  if (!existsSync(`${dir}.meta.json`)) return null;
  const kept = JSON.parse(readFileSync(`${dir}.meta.json`, 'utf8')) as { wallMs: number; exitCode: number | null };
  const { run, savedMs } = deriveRun(dir, { ledger, settled });
  const d = run.record.diagnosis;
  return {
    finding: d?.finding ?? '(none)',
    confidence: d?.confidence ?? null,
    summary: d?.summary ?? null,
    wallMs: kept.wallMs - savedMs,
    exitCode: kept.exitCode,
    environments: run.environments.map((e) => ({
      env: e.record.env, applied: e.record.verification?.applied ?? false, notAppliedReason: e.record.verification?.notAppliedReason ?? null,
      phases: (e.record.metrics?.phases ?? []).map((p) => ({ phase: p.phase, startMs: p.startMs, endMs: p.endMs })),
    })),
    error: null,
    derived: true,
  };
}

function loadTruths(): Truth[] {
  const all = readdirSync(casesDir).filter((f) => f.endsWith('.truth.json')).sort()
    .map((f) => JSON.parse(readFileSync(path.join(casesDir, f), 'utf8')) as Truth);
  return all.filter((t) => (!onlyCases || onlyCases.includes(t.case)) && (!ci || t.ci));
}

const configName = (ledger: boolean, settled: boolean) => `${ledger ? 'ledger' : 'no ledger'}, ${settled ? '--until-settled' : 'fixed durations'}`;
const seconds = (ms: number) => (ms / 1000).toFixed(0);

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface CaseResult { truth: Truth; ledger: boolean; settled: boolean; expected: string; outcomes: Outcome[] }

function corpus(): string[] {
  const truths = loadTruths();
  const results: CaseResult[] = [];
  for (const ledger of ledgerModes) {
    for (const settled of settledModes) {
      for (const truth of truths) {
        const expected = ledger ? truth.expected.withLedger : truth.expected.withoutLedger;
        const result: CaseResult = { truth, ledger, settled, expected, outcomes: [] };
        for (const rep of repNumbers) {
          const o = runScenario(path.join(casesDir, truth.scenario), ledger, settled, `${truth.case}-${ledger}-${settled}-${rep}`, `${truth.case}-true-false-${rep}`);
          if (!o) continue;
          result.outcomes.push(o);
          console.error(`${truth.case} [${configName(ledger, settled)}] #${rep}: ${o.finding}${o.finding === expected ? '' : ` (expected ${expected})`} ` +
            `in ${seconds(o.wallMs)} s${o.error ? ` -- ${o.error}` : ''}`);
        }
        results.push(result);
      }
    }
  }

  const lines: string[] = [];
  lines.push(`Corpus: ${truths.length} cases (native/diagnosis/cases), up to ${reps} run(s) each per configuration (the "right" column counts the runs), each case under the environments its scenario names; ` +
    `${cpus().length} cores, load average ${loadavg()[0].toFixed(1)} at the end. A run is right when \`diagnosis.finding\` equals the truth file's expected finding for that ledger setting.`);
  lines.push('');
  lines.push('| configuration | right | accuracy | median time to a finding | runs derived from a fixed ledger run |');
  lines.push('|---|---|---|---|---|');
  const configs = ledgerModes.flatMap((l) => settledModes.map((s) => [l, s] as const));
  for (const [ledger, settled] of configs) {
    const mine = results.filter((r) => r.ledger === ledger && r.settled === settled);
    const all = mine.flatMap((r) => r.outcomes.map((o) => ({ o, right: o.finding === r.expected })));
    const right = all.filter((x) => x.right).length;
    lines.push(`| ${configName(ledger, settled)} | ${right} / ${all.length} | ${all.length ? ((100 * right) / all.length).toFixed(0) : '-'} % | ` +
      `${all.length ? seconds(medianOf(all.map((x) => x.o.wallMs))) : '-'} s | ${all.filter((x) => x.o.derived).length} |`);
  }
  for (const [ledger, settled] of configs) {
    const mine = results.filter((r) => r.ledger === ledger && r.settled === settled);
    const others = new Set(mine.flatMap((r) => r.outcomes.map((o) => o.finding)).filter((f) => !FINDINGS.includes(f)));
    const columns = [...FINDINGS, ...others];
    const rows = FINDINGS.filter((f) => mine.some((r) => r.expected === f));
    lines.push('');
    lines.push(`Confusion matrix, ${configName(ledger, settled)} (rows: truth, columns: finding):`);
    lines.push('');
    lines.push(`| truth \\ finding | ${columns.join(' | ')} |`);
    lines.push(`|---|${columns.map(() => '---').join('|')}|`);
    for (const t of rows) {
      const outs = mine.filter((r) => r.expected === t).flatMap((r) => r.outcomes);
      lines.push(`| ${t} | ${columns.map((f) => {
        const n = outs.filter((o) => o.finding === f).length;
        return f === t ? `**${n}**` : String(n || '.');
      }).join(' | ')} |`);
    }
  }
  lines.push('');
  lines.push(`Per case: findings over the runs (right / runs) and the median wall time of a run (all its environments) to its finding.`);
  lines.push('');
  lines.push(`| case | environments | truth (no ledger / ledger) | ${configs.map(([l, s]) => configName(l, s)).join(' | ')} |`);
  lines.push(`|---|---|---|${configs.map(() => '---').join('|')}|`);
  for (const truth of truths) {
    const cells = configs.map(([ledger, settled]) => {
      const r = results.find((x) => x.truth === truth && x.ledger === ledger && x.settled === settled)!;
      const counts = new Map<string, number>();
      for (const o of r.outcomes) counts.set(o.finding, (counts.get(o.finding) ?? 0) + 1);
      if (!r.outcomes.length) return 'not run';
      const right = r.outcomes.filter((o) => o.finding === r.expected).length;
      const words = [...counts].map(([f, n]) => (counts.size > 1 ? `${f} x${n}` : f)).join(', ');
      return `${words} (${right}/${r.outcomes.length}), ${seconds(medianOf(r.outcomes.map((o) => o.wallMs)))} s`;
    });
    const envs = results.find((x) => x.truth === truth)?.outcomes[0]?.environments.map((e) => e.env).join(', ') ?? '-';
    lines.push(`| ${truth.case} | ${envs} | ${truth.expected.withoutLedger} / ${truth.expected.withLedger} | ${cells.join(' | ')} |`);
  }
  return lines;
}

interface DebianCase {
  name: string;
  scenario: string;
  needs: string[];
  /** Debian packages that provide them. */
  packages: string[];
  /** What a right finding is for this program under this client, and why (our reading of the program, not tuned). */
  expected: string;
  why: string;
}

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, cmd)));
}

function debianPrograms(): string[] {
  const cases = JSON.parse(readFileSync(path.join(debianDir, 'programs.json'), 'utf8')) as DebianCase[];
  const lines: string[] = [];
  lines.push('Real programs from Debian that none of us wrote, each under its own benchmark client on loopback (bench/diagnosis/), ' +
    `up to ${reps} run(s) each, fixed durations then --until-settled, without the ledger. "Right" is our reading of what the program does under that client.`);
  lines.push('');
  lines.push('| program (client) | settled | environments applied | finding (confidence) | expected | right | wall s | what the engine said |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const missing = c.needs.filter((n) => !onPath(n));
    if (missing.length) {
      lines.push(`| ${c.name} | - | - | not run: ${missing.join(', ')} missing (apt-get install ${c.packages.join(' ')}) | ${c.expected} | - | - | - |`);
      continue;
    }
    for (const settled of settledModes) {
      for (const rep of repNumbers) {
        const o = runScenario(path.join(debianDir, c.scenario), false, settled, `${c.name}-${settled}-${rep}`);
        if (!o) continue;
        console.error(`${c.name} [${settled ? 'settled' : 'fixed'}] #${rep}: ${o.finding} in ${seconds(o.wallMs)} s${o.error ? ` -- ${o.error}` : ''}`);
        const applied = o.environments.map((e) => `${e.env}: ${e.applied ? 'yes' : `no (${e.notAppliedReason ?? '?'})`}`).join('; ');
        lines.push(`| ${c.name} | ${settled ? 'yes' : 'no'} | ${applied || '-'} | ${o.finding}${o.confidence ? ` (${o.confidence})` : ''} | ${c.expected} | ` +
          `${o.finding === c.expected ? 'yes' : 'no'} | ${seconds(o.wallMs)} | ${(o.summary ?? o.error ?? '-').replace(/\|/g, '/').replace(/\n/g, ' ')} |`);
      }
    }
  }
  lines.push('');
  for (const c of cases) lines.push(`- ${c.name}: expected ${c.expected}. ${c.why}`);
  return lines;
}

function demoMatrix(): string[] {
  const scenario = path.join(root, 'examples', 'demo.alloclab.json');
  const lines: string[] = [];
  const count = { fixed: 0, settled: 0 };
  for (const settled of settledModes) {
    for (const rep of repNumbers) {
      const o = runScenario(scenario, false, settled, `demo-${settled}-${rep}`, `demo-false-${rep}`);
      if (!o) continue;
      console.error(`demo [${settled ? 'settled' : 'fixed'}] #${rep}: ${o.finding} in ${seconds(o.wallMs)} s${o.error ? ` -- ${o.error}` : ''}`);
      const loads = o.environments.map((e) => {
        const p = e.phases.find((x) => x.phase === 'load');
        return p ? `${e.env} ${seconds(p.endMs - p.startMs)}` : `${e.env} -`;
      }).join(', ');
      lines.push(`| ${settled ? 'until settled' : 'fixed'} | ${rep} | ${o.finding}${o.confidence ? ` (${o.confidence})` : ''} | ${seconds(o.wallMs)} | ${loads} |`);
      count[settled ? 'settled' : 'fixed']++;
    }
  }
  return [
    `The demo's matrix (examples/demo.alloclab.json: six environments, 5 s warm-up, 60 s of load, 15 s idle), ${count.fixed} run(s) with fixed durations and ${count.settled} with --until-settled, without the ledger.`,
    '',
    '| durations | run | finding (confidence) | wall s | load phase per environment, s |',
    '|---|---|---|---|---|',
    ...lines,
  ];
}

function writeSection(body: string): void {
  const args = process.argv.slice(2).filter((a) => a !== '--write').join(' ');
  writeResultsSection('## Diagnosis accuracy', `npm run bench -- diagnosis ${args}`, body);
  console.error('wrote ## Diagnosis accuracy in bench/RESULTS.md');
}

function main(): void {
  if (!existsSync(path.join(root, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first');
  const lines: string[] = [];
  if (!debianOnly && !demoOnly) {
    const missing = loadTruths().map((t) => path.join(root, 'native', 'build', t.program)).filter((p) => !existsSync(p));
    if (missing.length) throw new Error(`${missing.join(', ')} missing: run \`make -C native\` first`);
    lines.push(...corpus());
  }
  if (debian) {
    if (lines.length) lines.push('');
    lines.push(...debianPrograms());
  }
  if (demo) {
    if (lines.length) lines.push('');
    lines.push(...demoMatrix());
  }
  const body = lines.join('\n');
  console.log(body);
  if (write) writeSection(body);
}

try {
  main();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
