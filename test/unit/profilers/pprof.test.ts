// The pprof writer checked with the real client: `go tool pprof -top` (Debian's golang-go) reads the file and
// shows the same top sites as `alloclab hotspots`, for a sampled profile of the probe and for heaptrack's.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';
import { nativeProgram } from '../support/paths';
import { rankHotspots, readHeaptrackProfile, type AllocationProfile } from '../../../src/core/profilers';
import { readProbeSampledProfile } from '../../../src/core/profilers/probeSampled';
import { pprofSampleTypes, writePprof } from '../../../src/core/profilers/pprof';
import { probeLibraryPath } from '../../../src/core/ledger';
import { fixturesDir, markerLine } from './helpers';

const GO = ['/usr/bin/go', '/usr/lib/go/bin/go'].find((p) => existsSync(p));

/** `go tool pprof -top` of the profile for one sample type: the rows, as [flat value, function]. */
async function pprofTop(file: string, sampleIndex: string, extra: string[] = []): Promise<{ flat: number; name: string }[]> {
  const home = mkdtempSync(path.join(tmpdir(), 'alloclab-gohome-'));
  try {
    const r = await execa(GO!, ['tool', 'pprof', '-top', `-sample_index=${sampleIndex}`, '-symbolize=none', ...extra, file], {
      env: { HOME: home, GOPATH: path.join(home, 'go'), GOCACHE: path.join(home, 'cache'), GOFLAGS: '-mod=mod', PPROF_TMPDIR: home }, reject: false, timeout: 60_000,
    });
    assert.equal(r.exitCode, 0, r.stderr);
    const rows: { flat: number; name: string }[] = [];
    let inTable = false;
    for (const line of r.stdout.split('\n')) {
      if (/^\s+flat\s+flat%/.test(line)) {
        inTable = true;
        continue;
      }
      const m = inTable ? /^\s*(\d+(?:\.\d+)?)(\w*)\s+\S+%\s+\S+%\s+\S+\s+\S+%\s+(.*)$/.exec(line) : null;
      if (m) rows.push({ flat: Number(m[1]) * ({ kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, B: 1, '': 1 }[m[2]] ?? 1), name: m[3].trim() });
    }
    return rows;
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

async function probeProfile(dir: string): Promise<AllocationProfile> {
  const r = await execa(nativeProgram('proftest-sites'), ['0'], { env: { LD_PRELOAD: probeLibraryPath(), ALLOCLAB_PROBE_SAMPLE_DIR: dir, ALLOCLAB_PROBE_SAMPLE_INTERVAL: '65536' } });
  assert.equal(r.exitCode, 0);
  return readProbeSampledProfile(dir);
}

test('pprof: go tool pprof reads a probe-sampled profile and shows the same top sites', async (t) => {
  if (!GO) return t.skip('golang-go is not installed (apt-get install golang-go)');
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-pprof-'));
  try {
    const profile = await probeProfile(dir);
    assert.deepEqual(pprofSampleTypes(profile), ['alloc_objects', 'alloc_space', 'inuse_objects', 'inuse_space']);
    const file = path.join(dir, 'heap.pb.gz');
    writeFileSync(file, writePprof(profile, { startedAtMs: Date.now() }));
    // By lines (-lines): the user line of each site must lead, as in our ranking.
    const calls = await pprofTop(file, 'alloc_objects', ['-lines']);
    assert.match(calls[0]?.name ?? '', new RegExp(`sites\\.c:${markerLine('sites.c', 'churn')}\\b`), JSON.stringify(calls.slice(0, 3)));
    assert.equal(calls[0].flat, rankHotspots(profile, 'calls')[0].allocations);
    const space = await pprofTop(file, 'alloc_space', ['-lines']);
    assert.match(space[0]?.name ?? '', new RegExp(`sites\\.c:${markerLine('sites.c', 'cache')}\\b`));
    // inuse at exit: only the leak is left (the cache is freed before exit).
    const inuse = await pprofTop(file, 'inuse_space', ['-lines']);
    assert.match(inuse[0]?.name ?? '', new RegExp(`sites\\.c:${markerLine('sites.c', 'leak')}\\b`));
    // Mappings keep the build-ids.
    const raw = await execa(GO!, ['tool', 'pprof', '-raw', file], { env: { HOME: dir, GOCACHE: path.join(dir, 'gocache') }, reject: false });
    assert.match(raw.stdout, /proftest-sites\s+[0-9a-f]{40}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('pprof: a profile without counts or live objects leaves those sample types out', () => {
  const profile: AllocationProfile = {
    schemaVersion: 1, backend: 'massif', capabilities: { growth: true, peak: true, calls: false, leaked: false },
    snapshots: [{ t: 0 }, { t: 10 }], sampled: false, warnings: [], sources: [],
    sites: [{ id: 'a', frames: [{ function: 'f', file: 'a.c', line: 3, module: null, address: null }], userFrame: 0, liveBytes: [0, 100], peakBytes: 100, allocations: null, allocatedBytes: null, leakedBytes: null }],
  };
  assert.deepEqual(pprofSampleTypes(profile), ['inuse_space']);
});

test('pprof: go tool pprof reads a heaptrack profile converted from the fixture', async (t) => {
  if (!GO) return t.skip('golang-go is not installed');
  const trace = path.join(fixturesDir, 'heaptrack.sites.zst');
  const profile = await readHeaptrackProfile(trace);
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-pprof-ht-'));
  try {
    const file = path.join(dir, 'heap.pb.gz');
    writeFileSync(file, writePprof(profile));
    const rows = await pprofTop(file, 'alloc_objects', ['-lines']);
    const top = rankHotspots(profile, 'calls')[0];
    assert.match(rows[0]?.name ?? '', new RegExp(`${path.basename(top.file!)}:${top.line}\\b`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
