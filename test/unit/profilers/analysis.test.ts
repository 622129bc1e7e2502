// Ranking maths, path mapping and profile diffs.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { clearPathMapCache, diffProfiles, localFile, mapToWorkspace, openProfile, resolveSourceFile, rankHotspots, slopePerMinute, type AllocationProfile, type CallSite } from '../../../src/core/profilers';
import { fixturesDir, markerLine } from './helpers';

function site(id: string, file: string, line: number, live: number[], extra: Partial<CallSite> = {}): CallSite {
  return {
    id, userFrame: 1, liveBytes: live, peakBytes: Math.max(...live), allocations: null, allocatedBytes: null, leakedBytes: null,
    frames: [{ function: 'malloc', file: null, line: null, module: '/usr/lib/x86_64-linux-gnu/libc.so.6', address: '0x1' }, { function: `f${line}`, file, line, module: '/bin/x', address: '0x2' }],
    ...extra,
  };
}

function profile(times: number[], sites: CallSite[]): AllocationProfile {
  return { schemaVersion: 1, backend: 'test', capabilities: { growth: true, peak: true, calls: false, leaked: false }, snapshots: times.map((t) => ({ t })), sites, sampled: false, warnings: [], sources: [] };
}

test('slopePerMinute is the least-squares slope in units per minute', () => {
  assert.equal(slopePerMinute([0, 60_000], [0, 5]), 5);
  const t = [0, 1000, 2000, 3000];
  assert.ok(Math.abs(slopePerMinute(t, t.map((x) => 2 * x + 7))! - 120_000) < 1e-6);
  assert.equal(slopePerMinute([1000], [3]), null);
  assert.equal(slopePerMinute([5, 5], [1, 2]), null);
});

test('growth ranking uses only the load windows when given', () => {
  // Site a grows only outside the window, site b only inside it.
  const p = profile([0, 1000, 2000, 3000, 4000], [
    site('a', '/src/a.c', 1, [1, 100, 200, 200, 200]),
    site('b', '/src/b.c', 2, [1, 1, 1, 50, 100]),
  ]);
  assert.equal(rankHotspots(p, 'growth')[0].file, '/src/a.c');
  assert.equal(rankHotspots(p, 'growth', { windows: [{ startMs: 2000, endMs: 4000 }] })[0].file, '/src/b.c');
});

test('stacks sharing a user line are merged unless grouped by stack', () => {
  const p = profile([0, 1000], [site('a1', '/src/a.c', 1, [0, 60]), site('a2', '/src/a.c', 1, [0, 60]), site('b', '/src/b.c', 2, [0, 100])]);
  const byLine = rankHotspots(p, 'peak');
  assert.equal(byLine[0].file, '/src/a.c');
  assert.equal(byLine[0].peakBytes, 120);
  assert.deepEqual(byLine[0].siteIds.sort(), ['a1', 'a2']);
  assert.equal(rankHotspots(p, 'peak', { groupBy: 'stack' })[0].file, '/src/b.c');
  assert.equal(rankHotspots(p, 'peak', { top: 1 }).length, 1);
});

test('source mapping prefers the recorded path when it exists, then the longest suffix, and names a tie', () => {
  // An outside program's sites.c must not open the workspace's own sites.c of the same name.
  const ws = mkdtempSync(path.join(tmpdir(), 'alloclab-ws-rec-'));
  const outside = mkdtempSync(path.join(tmpdir(), 'alloclab-outside-'));
  try {
    for (const f of ['native/proftest/sites.c', 'lib/a/util.h', 'lib/b/util.h']) {
      mkdirSync(path.dirname(path.join(ws, f)), { recursive: true });
      writeFileSync(path.join(ws, f), '');
    }
    writeFileSync(path.join(outside, 'sites.c'), '');
    clearPathMapCache();
    const opts = { workspaceRoots: [ws] };
    const recorded = path.join(outside, 'sites.c');
    assert.equal(localFile(recorded, opts), recorded, 'the file at the recorded path is the one opened');
    assert.equal(mapToWorkspace(recorded, opts), null, 'and it is not a workspace file');
    assert.equal(resolveSourceFile(recorded, opts).how, 'recorded');
    // A recorded path that does not exist here still maps by suffix into the workspace.
    assert.equal(localFile('/build/ci/native/proftest/sites.c', opts), path.join(ws, 'native/proftest/sites.c'));
    const tie = resolveSourceFile('/nowhere/util.h', opts);
    assert.equal(tie.file, null);
    assert.deepEqual([...tie.ambiguous].sort(), [path.join(ws, 'lib/a/util.h'), path.join(ws, 'lib/b/util.h')]);
  } finally {
    rmSync(ws, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  }
});

test('mapToWorkspace: prefix map, suffix match, ambiguity and unmapped files', () => {
  const ws = mkdtempSync(path.join(tmpdir(), 'alloclab-ws-'));
  try {
    for (const f of ['svc/src/cache.cc', 'svc/src/util.h', 'lib/a/util.h', 'lib/b/util.h']) {
      mkdirSync(path.dirname(path.join(ws, f)), { recursive: true });
      writeFileSync(path.join(ws, f), '');
    }
    clearPathMapCache();
    const opts = { workspaceRoots: [ws], sourceFileMap: { '/build/project': path.join(ws, 'svc') } };
    assert.equal(mapToWorkspace('/build/project/src/cache.cc', opts), path.join(ws, 'svc/src/cache.cc'));
    assert.equal(mapToWorkspace('/home/ci/checkout/svc/src/cache.cc', { workspaceRoots: [ws] }), path.join(ws, 'svc/src/cache.cc'));
    assert.equal(mapToWorkspace('cache.cc', { workspaceRoots: [ws] }), path.join(ws, 'svc/src/cache.cc'));
    assert.equal(mapToWorkspace('/x/lib/a/util.h', { workspaceRoots: [ws] }), path.join(ws, 'lib/a/util.h'));
    assert.equal(mapToWorkspace('util.h', { workspaceRoots: [ws] }), null, 'three util.h: ambiguous');
    assert.equal(mapToWorkspace('/usr/include/c++/12/bits/new_allocator.h', { workspaceRoots: [ws] }), null);
    assert.equal(mapToWorkspace(null, { workspaceRoots: [ws] }), null);
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
});

test('diffProfiles puts the site that grew first', async () => {
  const before = await openProfile(path.join(fixturesDir, 'massif.out.sites'));
  const after: AllocationProfile = JSON.parse(JSON.stringify(before));
  const leakLine = markerLine('sites.c', 'leak');
  for (const s of after.sites) {
    if (s.frames[s.userFrame]?.line === leakLine) {
      s.liveBytes = s.liveBytes.map((v) => v * 3);
      s.peakBytes *= 3;
    }
  }
  const d = diffProfiles(before, after, 'peak');
  assert.equal(d[0].line, leakLine);
  assert.ok(d[0].delta > 0);
  assert.equal(d[d.length - 1].delta, 0);
  assert.equal(diffProfiles(before, before, 'peak').every((x) => x.delta === 0), true);
});
