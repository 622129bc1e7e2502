// The probe's sampled profiler on real runs of proftest-sites: exact lines for growth, calls, peak and not freed
// at exit under each allocator; a stripped copy gives a module with offsets and the right note about symbols.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { nativeBuild, nativeProgram } from '../support/paths';
import { diffProfiles, rankHotspots, type AllocationProfile, type Ranking } from '../../../src/core/profilers';
import { readElfInfo } from '../../../src/core/profilers/symbolize';
import { readProbeSampledProfile, parseSampleFile, findSampleFiles } from '../../../src/core/profilers/probeSampled';
import { findDebugInfo, symbolsAdvice } from '../../../src/core/profilers/debuginfo';
import { probeLibraryPath } from '../../../src/core/ledger';
import { assertTopIs } from './helpers';

const LIB = '/usr/lib/x86_64-linux-gnu';
const allocators = [
  { id: 'glibc', preload: null },
  { id: 'jemalloc', preload: `${LIB}/libjemalloc.so.2` },
  { id: 'tcmalloc', preload: `${LIB}/libtcmalloc_minimal.so.4` },
  { id: 'mimalloc', preload: `${LIB}/libmimalloc.so.2` },
];
const expected: Record<Ranking, 'leak' | 'churn' | 'cache'> = { growth: 'leak', calls: 'churn', peak: 'cache', leaked: 'leak' };

/** Runs a program with the probe sampling into a fresh folder; returns the folder. */
async function sampled(program: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-probe-sampled-'));
  const preload = [probeLibraryPath(), env.LD_PRELOAD].filter(Boolean).join(':');
  const r = await execa(program, args, { env: { ...env, LD_PRELOAD: preload, ALLOCLAB_PROBE_SAMPLE_DIR: dir }, reject: false, timeout: 60_000 });
  assert.equal(r.exitCode, 0, r.stderr);
  return dir;
}

for (const a of allocators) {
  test(`probe-sampled under ${a.id}: rankings name the known lines of sites.c`, async (t) => {
    if (a.preload && !existsSync(a.preload)) return t.skip(`${a.preload} not installed`);
    // 64 KiB: about 190 samples of the leak and 250 of the churn, so the order is far outside the noise.
    const dir = await sampled(nativeProgram('proftest-sites'), ['0'], { ALLOCLAB_PROBE_SAMPLE_INTERVAL: '65536', ...(a.preload ? { LD_PRELOAD: a.preload } : {}) });
    try {
      const p = await readProbeSampledProfile(dir);
      assert.equal(p.backend, 'probe-sampled');
      assert.equal(p.sampling?.exited, true);
      assert.equal(p.sampling?.dropped, 0);
      for (const by of ['growth', 'calls', 'peak', 'leaked'] as Ranking[]) assertTopIs(rankHotspots(p, by), 'sites.c', expected[by], `${a.id} by ${by}`);
      // Unbiased estimates against the program's exact figures: 1500 leaked blocks of 8 KiB, 300,000 churn calls.
      const leak = rankHotspots(p, 'leaked')[0];
      const leakSite = p.sites.find((s) => leak.siteIds.includes(s.id))!;
      assert.ok(Math.abs(leak.leakedBytes! - 1500 * 8192) < 4 * leakSite.bytesError! + 0.02 * 1500 * 8192, `leak ${leak.leakedBytes} +- ${leakSite.bytesError}`);
      const churn = rankHotspots(p, 'calls')[0];
      assert.ok(Math.abs(churn.allocations! - 300_000) < 0.3 * 300_000, `churn calls ${churn.allocations}`);
      // The cache's 1 MiB blocks are at least the interval: always taken, counted exactly (47 allocations).
      const cache = rankHotspots(p, 'peak')[0];
      assert.equal(cache.allocations, 47);
      for (const s of p.sites.filter((x) => cache.siteIds.includes(x.id))) assert.equal(s.bytesError, 0);
      // Frames name their module by path, build-id and file offset.
      const f = leakSite.frames[leakSite.userFrame];
      assert.equal(f.module, nativeProgram('proftest-sites'));
      assert.equal(f.buildId, readElfInfo(nativeProgram('proftest-sites'))?.buildId);
      assert.match(f.offset ?? '', /^0x[0-9a-f]+$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Every block of proftest-once is 1 MiB, above the interval: each must be sampled once and its free seen once. Under
// jemalloc its aligned operator new calls aligned_alloc through its PLT (the probe's); libcustom-alloc.so is an
// allocator the probe does not know, whose operator new calls malloc: the short paths must keep the guard there.
const onceAllocators = [...allocators, { id: 'an unknown allocator (libcustom-alloc.so, new over malloc)', preload: path.join(nativeBuild, 'libcustom-alloc.so') }];
for (const a of onceAllocators) {
  test(`probe-sampled under ${a.id}: every allocation entry point samples a block once, and sees its free once`, async (t) => {
    if (a.preload && !existsSync(a.preload)) return t.skip(`${a.preload} not installed`);
    const dir = await sampled(nativeProgram('proftest-once'), ['10'], { ALLOCLAB_PROBE_SAMPLE_INTERVAL: '524288', ...(a.preload ? { LD_PRELOAD: a.preload } : {}) });
    try {
      const [file] = findSampleFiles(dir);
      const raw = parseSampleFile(file);
      assert.equal(raw.events.filter((e) => e.size >= 1 << 20).length, 50, 'samples of the 50 blocks of 1 MiB');
      // In record order, each address alternates: sampled, freed (a block sampled by chance at start-up, such as
      // libstdc++'s emergency pool, may stay live).
      const live = new Set<number>();
      let bigFrees = 0;
      const big = new Set<number>();
      for (const e of raw.events) {
        if (e.size > 0) {
          assert.ok(!live.has(e.addr), `0x${e.addr.toString(16)} sampled twice while live`);
          live.add(e.addr);
          if (e.size >= 1 << 20) big.add(e.addr);
        } else {
          assert.ok(live.delete(e.addr), `a free of 0x${e.addr.toString(16)} that was not live`);
          if (big.delete(e.addr)) bigFrees++;
        }
      }
      assert.equal(bigFrees, 50, 'frees of the 50 blocks of 1 MiB');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('probe-sampled: a stripped copy outside the workspace gives its module with offsets, and says how to get symbols', async () => {
  const work = mkdtempSync(path.join(tmpdir(), 'alloclab-stripped-'));
  try {
    const bin = path.join(work, 'sites-stripped');
    copyFileSync(nativeProgram('proftest-sites'), bin);
    await execa('strip', ['--strip-all', bin]);
    const dir = await sampled(bin, ['0'], { ALLOCLAB_PROBE_SAMPLE_INTERVAL: '65536' });
    const p = await readProbeSampledProfile(dir, { workspaceRoots: [process.cwd()] });
    const top = rankHotspots(p, 'peak')[0];
    assert.equal(top.module, bin);
    assert.equal(top.file, null);
    assert.match(top.frames[top.userFrame].offset ?? '', /^0x[0-9a-f]+$/);
    const note = p.warnings.find((w) => w.startsWith('sites-stripped:'));
    assert.ok(note, `no note about symbols in ${JSON.stringify(p.warnings)}`);
    assert.match(note, /only its exported symbols \(\.dynsym\) were found/);
    assert.match(note, /\.build-id\//);
    assert.match(note, /not built in this workspace/);
    assert.doesNotMatch(note, /[Rr]ebuild|with -g/);
    // A second run loads the binary elsewhere (ASLR); by module offset --baseline still sees the same sites.
    const dir2 = await sampled(bin, ['0'], { ALLOCLAB_PROBE_SAMPLE_INTERVAL: '65536' });
    const p2 = await readProbeSampledProfile(dir2, { workspaceRoots: [process.cwd()] });
    rmSync(dir2, { recursive: true, force: true });
    const diff = diffProfiles(p, p2, 'peak');
    // The two large sites (the cache, the leak): sampled in every run, unlike a one-off 4 KiB stdio buffer.
    for (const h of rankHotspots(p2, 'peak').slice(0, 2)) {
      const d = diff.find((x) => x.after?.siteIds.join() === h.siteIds.join());
      assert.ok(d?.before, `${h.frames[h.userFrame].offset} of the second run is new to --baseline`);
    }
    // Its debug file by build-id (as a -dbgsym package installs it) brings the lines back.
    const root = path.join(work, 'debug');
    const id = readElfInfo(bin)!.buildId!;
    mkdirSync(path.join(root, '.build-id', id.slice(0, 2)), { recursive: true });
    await execa('objcopy', ['--only-keep-debug', nativeProgram('proftest-sites'), path.join(root, '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`)]);
    process.env.ALLOCLAB_DEBUG_ROOT = root;
    try {
      const again = await readProbeSampledProfile(dir, { workspaceRoots: [process.cwd()] });
      assertTopIs(rankHotspots(again, 'peak'), 'sites.c', 'cache', 'stripped with its build-id debug file');
      assert.equal(again.modules?.find((m) => m.path === bin)?.symbols, 'build-id');
    } finally {
      delete process.env.ALLOCLAB_DEBUG_ROOT;
    }
    rmSync(dir, { recursive: true, force: true });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('debug info: libc by build-id from libc6-dbg; a stripped Debian library gets the -dbgsym advice, never "rebuild"', async (t) => {
  const libc = `${LIB}/libc.so.6`;
  const info = await findDebugInfo(libc, readElfInfo(libc)?.buildId ?? null);
  if (info.source !== 'build-id') return t.skip('libc6-dbg is not installed');
  assert.match(info.file!, /^\/usr\/lib\/debug\/\.build-id\/[0-9a-f]{2}\/[0-9a-f]+\.debug$/);
  const je = `${LIB}/libjemalloc.so.2`;
  if (!existsSync(je)) return;
  const jeInfo = await findDebugInfo(je, readElfInfo(je)?.buildId ?? null);
  assert.equal(jeInfo.source, 'dynsym');
  const advice = await symbolsAdvice(je, jeInfo, [process.cwd()]);
  assert.ok(advice);
  assert.match(advice, /Debian package libjemalloc2/);
  assert.match(advice, /libjemalloc2-dbgsym/);
  assert.match(advice, /DEBUGINFOD_URLS/);
  assert.doesNotMatch(advice, /Rebuild|-g\b/);
});

test('probe-sampled: a killed target leaves its samples up to the last round', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-probe-killed-'));
  try {
    // 20 ms per iteration: the program would run 30 s; it is killed after about 1.5 s.
    const child = execa(nativeProgram('proftest-sites'), ['20000'], {
      env: { LD_PRELOAD: probeLibraryPath(), ALLOCLAB_PROBE_SAMPLE_DIR: dir, ALLOCLAB_PROBE_SAMPLE_INTERVAL: '65536' }, reject: false,
    });
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGKILL');
    await child;
    const [file] = findSampleFiles(dir);
    const raw = parseSampleFile(file);
    assert.equal(raw.exited, false);
    assert.ok(raw.endMs > 900, `last record at ${raw.endMs} ms`);
    const p: AllocationProfile = await readProbeSampledProfile(dir);
    assert.ok(p.warnings.some((w) => w.includes('did not exit on its own')));
    assertTopIs(rankHotspots(p, 'peak'), 'sites.c', 'cache', 'killed target by peak');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const method of ['fp', 'libunwind', 'gcc']) {
  test(`probe-sampled: stacks by ${method} when asked, with the depth bound kept`, async () => {
    const dir = await sampled(nativeProgram('proftest-sites'), ['0'], { ALLOCLAB_PROBE_SAMPLE_INTERVAL: '65536', ALLOCLAB_PROBE_UNWIND: method, ALLOCLAB_PROBE_SAMPLE_DEPTH: '2' });
    try {
      const p = await readProbeSampledProfile(dir);
      assert.equal(p.sampling?.unwinder, method);
      assert.equal(p.sampling?.maxDepth, 2);
      assert.ok(p.sites.every((s) => new Set(s.frames.map((f) => f.address)).size <= 2), 'a stack deeper than the bound');
      // Two frames are enough here: the allocating line and its caller.
      assertTopIs(rankHotspots(p, 'calls'), 'sites.c', 'churn', `${method} by calls`);
      assertTopIs(rankHotspots(p, 'peak'), 'sites.c', 'cache', `${method} by peak`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
