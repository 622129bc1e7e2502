// How fast can --until-settled be? Lower bounds for a matrix of environments run one after another, printed as
// tables (it judges nothing by itself; bench/RESULTS.md records what it printed):
// 1. The floor of the settler's own rules: the PhaseSettler fed ideal series (a clean rise, a level, a level far
//    from an earlier environment's) that every check decides at once. No series settles sooner than these.
// 2. Two oracles over kept runs made with fixed durations (`npm run bench -- diagnosis --demo-only --settled off
//    --keep DIR`), which know each phase's future:
//    - class: each load phase cut at the earliest second (from 10 s: no class is decided on fewer buckets) from
//      which its RSS class already is, and stays, the class of the full phase (`too-short` too: an undecided phase
//      is counted as if it could end at 10 s). A rule that ends a phase on its class cannot end it sooner;
//    - finding: environments in run order, each load cut at the earliest second (from 10 s) from which the run's
//      finding, with the earlier cuts kept and the later phases whole, stays the fixed run's at every longer cut.
//      Only hindsight knows that; it is what the data of these runs would allow at best.
//   node dist/bench/support/settleBound.js [RUN_DIR ...]
import { computeEnvironmentMetrics } from '../../src/core/analysis/metrics';
import { diagnose } from '../../src/core/analysis/diagnosis';
import { PhaseSettler, type ComparisonReference } from '../../src/core/analysis/settle';
import { classifyTrajectory, MIN_SETTLED, seriesOf } from '../../src/core/analysis/trajectory';
import type { EnvironmentRecord, PhaseKind, RunEvent, Sample } from '../../src/core/model';
import { openRun } from '../../src/core/runs/store';

const MiB = 1024 * 1024;
/** The runner looks once a second (runner.ts SETTLE_CHECK_MS); samples come at about 20 Hz. */
const CHECK_MS = 1000;
const SAMPLE_MS = 50;

/** The earliest check (seconds into the phase) at which the settler ends an ideal series, or null by its bound. */
function earliest(kind: PhaseKind, boundMs: number, value: (ms: number) => number, references: ComparisonReference[] = []): number | null {
  const samples: Sample[] = [];
  for (let t = 0; t <= boundMs; t += SAMPLE_MS) samples.push({ t, rssBytes: Math.round(value(t)) });
  const settler = new PhaseSettler(kind, 0, { boundMs, references });
  for (let now = CHECK_MS; now < boundMs; now += CHECK_MS) if (settler.check(samples, now).settled) return now / 1000;
  return null;
}

function floor(): void {
  const far: ComparisonReference = { label: 'earlier', levelBytes: 1000 * MiB, rising: false, growthIntervalBytesPerMin: [0, 0] };
  const rows: [string, number | null][] = [
    ['warm-up of 5 s, level from the start', earliest('warmup', 5000, () => 100 * MiB)],
    ['load of 60 s, first environment, a clean rise (5 MiB/s)', earliest('load', 60_000, (t) => 100 * MiB + 5 * MiB * (t / 1000))],
    ['load of 60 s, first environment, a clean level', earliest('load', 60_000, () => 100 * MiB)],
    ['load of 60 s, a later environment, level at a tenth of an earlier one', earliest('load', 60_000, () => 100 * MiB, [far])],
    ['idle of 15 s, nothing coming back', earliest('idle', 15_000, () => 100 * MiB)],
  ];
  console.log('The settler on ideal series (each decided at every check): the earliest end of each phase.\n');
  console.log('| phase, series | ends after, s |\n|---|---|');
  for (const [what, s] of rows) console.log(`| ${what} | ${s ?? 'its bound'} |`);
  const [warm, rise, , later, idle] = rows.map(([, s], i) => s ?? [5, 60, 60, 60, 15][i]);
  const total = 6 * warm + rise + 5 * later + idle;
  console.log(`\nSix environments one after another, the first rising (the demo's glibc), each later one ended as soon as the rules allow,` +
    ` and the last one's idle phase: 6 x ${warm} + ${rise} + 5 x ${later} + ${idle} = ${total} s, before start-up and hand-overs.\n`);
}

interface Env { record: EnvironmentRecord; label: string; at: (L: number) => EnvironmentRecord; classCut: number; full: number; cls: string }

function oracles(dirs: string[]): void {
  if (!dirs.length) return;
  console.log('Oracles over kept runs with fixed durations: load phase per environment, s (and their sum).\n');
  console.log('| run | fixed finding | cut on the class (sum) | cut on the finding (sum) |\n|---|---|---|---|');
  for (const dir of dirs) {
    const run = openRun(dir);
    const envs: Env[] = [];
    for (const e of run.environments) {
      const events = e.events;
      const st = events.find((x) => x.type === 'phase-start' && x.kind === 'load')?.t;
      const en = events.find((x) => x.type === 'phase-end' && x.kind === 'load')?.t;
      if (st == null || en == null) continue;
      const full = Math.round((en - st) / 1000);
      const memo = new Map<number, EnvironmentRecord>();
      const at = (L: number): EnvironmentRecord => {
        const stop = Math.min(en, st + L * 1000);
        let r = memo.get(stop);
        if (!r) {
          const ev: RunEvent[] = events.map((x) => (x.type === 'phase-end' && x.kind === 'load' ? { ...x, t: stop } : x));
          r = { ...e.record, metrics: computeEnvironmentMetrics(e.samples.filter((s) => !(s.t > stop && s.t <= en)), ev) };
          memo.set(stop, r);
        }
        return r;
      };
      const rss = seriesOf(e.samples, (s) => s.rssBytes);
      const final = classifyTrajectory(rss, st, en).class;
      let classCut = full;
      while (classCut > MIN_SETTLED && classifyTrajectory(rss, st, st + (classCut - 1) * 1000).class === final) classCut--;
      envs.push({ record: e.record, label: e.record.env, at, classCut, full, cls: final });
    }
    const scenario = { ...(run.record.scenario as object), untilSettled: true };
    const finding = (records: EnvironmentRecord[]) => diagnose(records, scenario).finding;
    const target = finding(envs.map((x) => x.at(x.full)));
    const cuts = envs.map((x) => x.full);
    for (let i = 0; i < envs.length; i++) {
      for (let c = envs[i].full - 1; c >= MIN_SETTLED; c--) {
        if (finding(envs.map((x, j) => x.at(j === i ? c : cuts[j]))) !== target) break;
        cuts[i] = c;
      }
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const byClass = envs.map((x) => `${x.label} ${x.cls} ${x.classCut}`).join(', ');
    const byFinding = envs.map((x, i) => `${x.label} ${cuts[i]}`).join(', ');
    console.log(`| ${dir} | ${target} | ${byClass} (${sum(envs.map((x) => x.classCut))}) | ${byFinding} (${sum(cuts)}) |`);
  }
}

floor();
oracles(process.argv.slice(2));
