// The allocators' habits, each shown by a test program run under the probe (native/probetest/habits.c) as a user
// would run it (executeRun with the ledger): the habit appears in diagnosis.habits with its evidence and advice,
// and does not where the program does not show it.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { allocatorHabits } from '../../../src/core/analysis/habits';
import type { AllocatorHabit, RunRecord } from '../../../src/core/model';
import { compareScenario, executeRun } from '../../../src/core/runs/runner';
import type { Phase } from '../../../src/core/stress/scenario';
import { nativeProgram } from '../support/paths';
import { JEMALLOC, MIMALLOC, TCMALLOC } from './targets';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-habits-'));
after(() => fs.rmSync(runsDir, { recursive: true, force: true }));

/** Runs `habits ARGS` under each environment, phases given (default: 3 s of load, as the program does its own work). */
async function run(args: string[], environments: string[], opts: { env?: Record<string, string>; phases?: Phase[] } = {}): Promise<RunRecord> {
  const loaded = compareScenario(nativeProgram('habits'), args, 3000, environments, runsDir);
  loaded.scenario.target.env = opts.env ?? {};
  loaded.scenario.target.ready = { logLine: 'ready', timeout: '20s' } as typeof loaded.scenario.target.ready;
  loaded.scenario.sampling = { intervalMs: 50 } as typeof loaded.scenario.sampling;
  if (opts.phases) loaded.scenario.phases = opts.phases;
  const { record } = await executeRun({ kind: 'compare', loaded, runsDir, ledger: true });
  for (const e of record.environments) assert.equal(e.error, null, `${e.label}: ${e.error}`);
  return record;
}

const loadThenIdle = (loadS: number, idleS: number): Phase[] => [
  { name: 'load', kind: 'load', duration: `${loadS}s` } as Phase,
  { name: 'idle', kind: 'idle', duration: `${idleS}s` } as Phase,
];

function find(habits: AllocatorHabit[], env: string, pattern: RegExp): AllocatorHabit | undefined {
  return habits.find((h) => h.allocator.includes(env) && pattern.test(h.habit));
}

test('glibc: arenas against threads, with MALLOC_ARENA_MAX as the advice; not under MALLOC_ARENA_MAX=2; memory not back after the load', async () => {
  // 8 threads, 160 MiB in 1 KiB blocks, 9 of 10 freed: an arena per thread holding its holes.
  const rec = await run(['retain', '160', '8'], ['glibc', 'glibc-arena-2'], { phases: loadThenIdle(2, 2) });
  const habits = rec.diagnosis!.habits;
  assert.deepEqual(habits, allocatorHabits(rec.environments), 'the diagnosis carries the habits of its environments');
  const arenas = find(habits, 'glibc (default)', /arenas for/);
  assert.ok(arenas, JSON.stringify(habits, null, 1));
  const n = Number(/^(\d+) arenas/.exec(arenas.habit)![1]);
  assert.ok(n >= 4, `arenas ${n}`);
  assert.match(arenas.advice!, /MALLOC_ARENA_MAX=2/);
  assert.match(arenas.advice!, /steady RSS .* with it/, 'the run measured the capped environment too: its figure is cited');
  assert.equal(find(habits, 'MALLOC_ARENA_MAX=2', /arenas for/), undefined, 'two arenas: no arena habit');
  const back = find(habits, 'glibc (default)', /did not come back after the load/);
  assert.ok(back, JSON.stringify(habits, null, 1));
  assert.match(back.advice!, /malloc_trim/);
  assert.ok(rec.verdict!.includes('arenas for'), 'the habits are in the words too');
});

test('glibc: a top chunk malloc_trim would return (only when the trim threshold keeps it)', async () => {
  const kept = await run(['top', '96'], ['glibc'], { env: { MALLOC_TRIM_THRESHOLD_: String(1 << 30) } });
  const top = find(kept.diagnosis!.habits, 'glibc', /tops of its heaps hold/);
  assert.ok(top, JSON.stringify(kept.diagnosis!.habits, null, 1));
  const mib = Number(/hold ([\d.]+) MiB/.exec(top.habit)![1]);
  assert.ok(mib > 80 && mib < 110, `top ${mib} MiB`);
  assert.match(top.advice!, /alloclab trim/);
  const trimmed = await run(['top', '96'], ['glibc']);
  assert.equal(find(trimmed.diagnosis!.habits, 'glibc', /tops of its heaps/), undefined, 'default threshold: glibc trimmed the top itself');
});

test('jemalloc: without background_thread an idle process keeps its dirty pages; with it they are purged', { skip: !fs.existsSync(JEMALLOC) && 'jemalloc not installed' }, async () => {
  const phases = loadThenIdle(2.5, 4);
  // Churn over 64 MiB for 2 s, free everything, then nothing at all for 4 s; decay after 1 s in both runs.
  const plain = await run(['load', '64', '2'], ['jemalloc'], { env: { MALLOC_CONF: 'dirty_decay_ms:1000' }, phases });
  const kept = find(plain.diagnosis!.habits, 'jemalloc', /kept its dirty pages through the idle phase/);
  assert.ok(kept, JSON.stringify(plain.diagnosis!.habits, null, 1));
  assert.match(kept.advice!, /MALLOC_CONF=background_thread:true/);
  assert.match(kept.evidence, /background_thread off/);
  const pages = find(plain.diagnosis!.habits, 'jemalloc', /dirty, muzzy and retained/);
  assert.ok(pages && /retained [\d.]+ MiB \(address space kept for reuse: not resident\)/.test(pages.evidence), pages?.evidence);

  const bg = await run(['load', '64', '2'], ['jemalloc'], { env: { MALLOC_CONF: 'dirty_decay_ms:1000,background_thread:true' }, phases });
  assert.equal(find(bg.diagnosis!.habits, 'jemalloc', /kept its dirty pages/), undefined, JSON.stringify(bg.diagnosis!.habits, null, 1));
  const purged = find(bg.diagnosis!.habits, 'jemalloc', /purged .* during the idle phase \(background thread\)/);
  assert.ok(purged, JSON.stringify(bg.diagnosis!.habits, null, 1));
  // The difference in figures, not only in words: dirty at the end of the idle phase.
  const dirtyAtIdleEnd = (r: RunRecord) => r.environments[0].metrics!.allocatorSnapshots!.find((s) => s.at === 'idle-end')!.figures.dirtyBytes!;
  assert.ok(dirtyAtIdleEnd(bg) < dirtyAtIdleEnd(plain) / 4, `dirty at idle end: ${dirtyAtIdleEnd(bg)} with, ${dirtyAtIdleEnd(plain)} without`);
});

test('tcmalloc: page heap free versus unmapped, and thread caches', { skip: !fs.existsSync(TCMALLOC) && 'tcmalloc not installed' }, async () => {
  const rec = await run(['retain', '96', '2'], ['tcmalloc']);
  const h = find(rec.diagnosis!.habits, 'tcmalloc', /page heap free versus unmapped/);
  assert.ok(h, JSON.stringify(rec.diagnosis!.habits, null, 1));
  assert.match(h.evidence, /page heap free [\d.]+ MiB \(resident\), unmapped [\d.]+ MiB .*thread caches [\d.]+ MiB/);
});

test('mimalloc 2.0: committed memory versus RSS, with its decommit delays', { skip: !fs.existsSync(MIMALLOC) && 'mimalloc not installed' }, async () => {
  const rec = await run(['retain', '96', '2'], ['mimalloc']);
  const h = find(rec.diagnosis!.habits, 'mimalloc', /committed memory versus RSS/);
  assert.ok(h, JSON.stringify(rec.diagnosis!.habits, null, 1));
  assert.match(h.evidence, /committed [\d.]+ MiB, anonymous RSS [\d.]+ MiB/);
  assert.match(h.evidence, /reset_delay \(decommit_delay\) 25 ms, segment_decommit_delay 500 ms/, 'the 2.0.9 defaults');
});

test('MADV_FREE: RSS that lazily freed pages explain is reclaimable, not retained', async () => {
  const rec = await run(['lazyfree', '64'], ['glibc']);
  const h = find(rec.diagnosis!.habits, 'glibc', /lazily freed pages explain it: reclaimable, not retained/);
  assert.ok(h, JSON.stringify(rec.diagnosis!.habits, null, 1));
  const mib = Number(/^([\d.]+) MiB/.exec(h.evidence)![1]);
  assert.ok(mib > 60 && mib <= 64.1, `lazy free ${mib} MiB`);
  // And the ledger draws it as its own layer, not as other anonymous memory.
  const last = rec.environments[0].metrics!.allocatorSnapshots!.at(-1)!;
  assert.ok(last.lazyFreeBytes! > 60 * 1024 * 1024);
  const quiet = await run(['top', '8'], ['glibc']);
  assert.equal(find(quiet.diagnosis!.habits, 'glibc', /lazily freed/), undefined);
});
