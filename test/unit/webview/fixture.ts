// A synthetic run shaped like a real one (three environments, warmup/load/idle phases, one crash, one environment
// whose allocator did not load, a debugger stop), for the panel and report tests. Metrics and the verdict come
// from the real analysis functions, so the fixture follows the engine when it changes.
import { computeEnvironmentMetrics } from '../../../src/core/analysis/metrics';
import { judgeRun } from '../../../src/core/analysis/verdict';
import type { EnvironmentRecord, PhaseKind, RunEvent, RunRecord, Sample } from '../../../src/core/model';
import type { StoredRun } from '../../../src/core/runs/store';

const MiB = 1024 * 1024;

interface EnvSpec {
  env: string;
  label: string;
  /** RSS in MiB at time t (ms). */
  rss: (t: number) => number;
  applied?: boolean;
  crashAtMs?: number;
  debugStopAtMs?: number;
}

const PHASES: { name: string; kind: PhaseKind; ms: number }[] = [
  { name: 'warm', kind: 'warmup', ms: 2000 },
  { name: 'steady', kind: 'load', ms: 10_000 },
  { name: 'rest', kind: 'idle', ms: 4000 },
];

export const FIXTURE_SPECS: EnvSpec[] = [
  // glibc: keeps growing under load, gives little back, with one sharp spike at 7 s.
  { env: 'glibc', label: 'glibc (default)', rss: (t) => (t < 2000 ? 40 + t / 100 : t < 12_000 ? 60 + (t - 2000) / 40 : 310 - (t - 12_000) / 400) + (t >= 7000 && t < 7050 ? 200 : 0), debugStopAtMs: 9000 },
  // jemalloc: flat under load, returns memory in idle.
  { env: 'jemalloc', label: 'jemalloc', rss: (t) => (t < 2000 ? 30 + t / 200 : t < 12_000 ? 40 + 5 * Math.sin(t / 500) : Math.max(20, 40 - (t - 12_000) / 100)) },
  // mimalloc: the preload did not take, and the target crashed in the load phase.
  { env: 'mimalloc', label: 'mimalloc, "preloaded"', rss: (t) => 35 + t / 120, applied: false, crashAtMs: 9500 },
];

/** The synthetic run; `intervalMs` sets the sampling rate (so tests can make long series). */
export function fixtureRun(intervalMs = 50, dir = '/tmp/alloclab-fixture/20260101-000000-fixture'): StoredRun {
  const environments = FIXTURE_SPECS.map((spec, k) => {
    const samples: Sample[] = [];
    const events: RunEvent[] = [
      { t: 0, type: 'spawn', pid: 1000 + k, command: '/usr/bin/demo', args: ['--port', '0'] },
      { t: 150, type: 'ready', how: 'tcp port' },
      {
        t: 200, type: 'verified',
        verification: spec.applied === false
          ? { applied: false, notAppliedReason: 'libmimalloc.so.2 is not mapped in the target', mappedAllocator: null, mappedLibraries: [] }
          : { applied: true, mappedAllocator: spec.env === 'glibc' ? null : `/usr/lib/x86_64-linux-gnu/lib${spec.env}.so.2`, mappedLibraries: [] },
      },
    ];
    const end = spec.crashAtMs ?? PHASES.reduce((a, p) => a + p.ms, 0);
    let t0 = 0;
    PHASES.forEach((p, index) => {
      if (t0 >= end) return;
      events.push({ t: t0, type: 'phase-start', phase: p.name, kind: p.kind, index });
      const t1 = Math.min(end, t0 + p.ms);
      if (spec.debugStopAtMs != null && spec.debugStopAtMs >= t0 && spec.debugStopAtMs < t1) {
        events.push({ t: spec.debugStopAtMs, type: 'debug-stop', reason: 'breakpoint', description: 'cache.cpp:42' });
      }
      if (t1 === t0 + p.ms) {
        const load = p.kind === 'idle' ? undefined : {
          requests: Math.round(p.ms * (k + 1) * 2), errors: { status: 0, connect: 0, timeout: 0, other: 0 }, durationMs: p.ms,
          throughputRps: (k + 1) * 2000, latencyMs: { p50: 1 + k, p90: 2 + k, p99: 5 + k * 2.5, max: 20 },
        };
        events.push({ t: t1, type: 'phase-end', phase: p.name, kind: p.kind, index, ...(load ? { load } : {}) });
      }
      t0 = t1;
    });
    for (let t = 0; t <= end; t += intervalMs) samples.push({ t, rssBytes: Math.round(spec.rss(t) * MiB), threads: 4 + k });
    if (spec.crashAtMs != null) {
      events.push({ t: end, type: 'note', level: 'error', message: 'target died: SIGSEGV' });
      events.push({ t: end, type: 'exit', code: null, signal: 'SIGSEGV', expected: false });
    } else events.push({ t: end, type: 'exit', code: 0, signal: null, expected: true });
    const verification = (events.find((e) => e.type === 'verified') as Extract<RunEvent, { type: 'verified' }>).verification;
    const exit = events.find((e) => e.type === 'exit') as Extract<RunEvent, { type: 'exit' }>;
    const record: EnvironmentRecord = {
      env: spec.env, label: spec.label, dir: `0${k + 1}-${spec.env}`, repetition: 1,
      appliedEnv: spec.env === 'glibc' ? {} : { LD_PRELOAD: `/usr/lib/x86_64-linux-gnu/lib${spec.env}.so.2` },
      pid: 1000 + k, startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, k * 20)).toISOString(), durationMs: end,
      verification, exit: { code: exit.code, signal: exit.signal, expected: exit.expected },
      error: spec.crashAtMs != null ? 'the target crashed (SIGSEGV) during phase "steady"' : null,
      metrics: computeEnvironmentMetrics(samples, events),
    };
    return { record, samples, events };
  });
  const record: RunRecord = {
    schemaVersion: 1, id: '20260101-000000-fixture', name: 'fixture', kind: 'scenario', createdAt: '2026-01-01T00:00:00.000Z',
    complete: true, cancelled: false, host: { hostname: 'test', cpus: 2, kernel: '6.1', node: 'v20' },
    scenarioPath: null, scenario: {}, environments: environments.map((e) => e.record), verdict: null,
  };
  judgeRun(record);
  return { dir, record, environments };
}
