// A binary that links its own allocator: "as shipped: jemalloc (linked)" takes glibc's place and its ledger reads
// that allocator's figures through the probe; glibc stays as "not applied" with its reason; a preload beside the
// linked allocator says what is known (mapped, but may not be the one allocating). Ordinary binaries: unchanged.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { inspectBinary, shippedEnvironments, resolveEnvironments, preflight } from '../../../src/core/allocators';
import { compareScenario, executeRun } from '../../../src/core/runs/runner';
import { openRun } from '../../../src/core/runs/store';
import { nativeProgram } from '../support/paths';
import { JEMALLOC, TCMALLOC } from './targets';

const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-shipped-'));
after(() => fs.rmSync(runsDir, { recursive: true, force: true }));

test('as shipped takes glibc\'s place for a binary that links jemalloc; ordinary binaries are unchanged', () => {
  const own = inspectBinary(nativeProgram('own-jemalloc'));
  const envs = shippedEnvironments(resolveEnvironments(['glibc', 'tcmalloc']), own);
  assert.deepEqual(envs.map((e) => e.id), ['as-shipped', 'glibc', 'tcmalloc']);
  assert.equal(envs[0].label, 'as shipped: jemalloc (linked)');
  assert.equal(preflight(envs[0], own), null);
  assert.match(preflight(envs[1], own)!, /links its own allocator, jemalloc .*does not run on glibc malloc/);
  assert.match(preflight(envs[2], own)!, /mapped, but may not be the one allocating/);
  assert.doesNotMatch(preflight(envs[2], own)!, /split/);
  const plain = inspectBinary(nativeProgram('sleeper'));
  assert.deepEqual(shippedEnvironments(resolveEnvironments(['glibc', 'tcmalloc']), plain).map((e) => e.id), ['glibc', 'tcmalloc']);
  // Asked for by name on an ordinary binary: it ships on glibc, which the glibc row measures.
  const [asked] = shippedEnvironments(resolveEnvironments(['as-shipped']), plain);
  assert.match(preflight(asked, plain)!, /links no allocator of its own/);
});

test('a run of a binary linking jemalloc: the as-shipped row is measured with jemalloc\'s own figures, glibc not applied', { skip: !fs.existsSync(JEMALLOC) && 'jemalloc not installed' }, async () => {
  const envs = ['glibc', ...(fs.existsSync(TCMALLOC) ? ['tcmalloc'] : [])];
  const loaded = compareScenario(nativeProgram('own-jemalloc'), [], 2500, envs, runsDir);
  const { runDir, record } = await executeRun({ kind: 'compare', loaded, runsDir, ledger: true });
  const [shipped, glibc, tcmalloc] = record.environments;
  assert.equal(shipped.env, 'as-shipped');
  assert.equal(shipped.label, 'as shipped: jemalloc (linked)');
  assert.equal(shipped.verification?.applied, true, shipped.verification?.notAppliedReason);
  assert.match(shipped.verification!.mappedAllocator!, /libjemalloc/);
  assert.equal(glibc.env, 'glibc');
  assert.equal(glibc.verification?.applied, false);
  assert.match(glibc.verification!.notAppliedReason!, /links its own allocator/);
  if (tcmalloc) assert.match(tcmalloc.verification!.notAppliedReason!, /mapped, but may not be the one allocating/);
  // Its ledger: jemalloc's statistics, read through the probe, with the held memory from them.
  const samples = openRun(runDir).environments[0].samples;
  const stats = samples.filter((s) => s.allocatorStats);
  assert.ok(stats.length >= 3, 'the probe published jemalloc figures');
  assert.ok(stats.every((s) => s.allocatorStats!.allocator === 'jemalloc'));
  assert.ok(stats.at(-1)!.allocatorStats!.figures.residentBytes! > 1024 * 1024);
  const last = samples.filter((s) => s.liveHeapBytes != null).at(-1)!;
  assert.ok(last.liveHeapBytes! >= 1024 * 1024, `live ${last.liveHeapBytes}: the program holds 1 MiB`);
  assert.ok(Math.abs(stats.at(-1)!.allocatorStats!.figures.allocatedBytes! - last.liveHeapBytes!) < 512 * 1024, 'jemalloc\'s allocated bytes and the probe\'s count agree');
  assert.ok(stats.at(-1)!.allocatorStats!.figures.metadataBytes! > 0, 'jemalloc metadata');
  assert.ok(last.allocatorFiguresAgeMs! < 1000, `figures ${last.allocatorFiguresAgeMs} ms old`);
  assert.ok(record.scenario && (record.scenario as { environments: string[] }).environments.includes('as-shipped'));
});
