// Allocations through std::string and std::vector: the site must be the user's line, not new_allocator.h.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { nativeProgram } from '../support/paths';
import { BackendUnavailableError, getBackend, heaptrackBackend, listBackends, rankHotspots } from '../../../src/core/profilers';
import { TargetError } from '../../../src/core/errors';
import { assertTopIs, profileBinary } from './helpers';

for (const id of ['probe-sampled', 'jemalloc-prof', 'heaptrack', 'massif']) {
  test(`${id}: C++ container allocations land on the user's line`, async (t) => {
    const backend = getBackend(id, { jemalloc: { lgProfInterval: 21 }, probe: { intervalBytes: 65536 } });
    if (!backend.available().ok) return t.skip(`${id} not installed`);
    const dir = mkdtempSync(path.join(tmpdir(), `alloclab-prof-cpp-${id}-`));
    try {
      const r = await profileBinary(backend, nativeProgram('proftest-sites-cpp'), [], 60_000, dir);
      const growth = rankHotspots(r.profile, 'growth');
      assertTopIs(growth, 'sites_cpp.cpp', 'leak', `${id} growth`);
      assertTopIs(rankHotspots(r.profile, 'peak'), 'sites_cpp.cpp', 'cache', `${id} peak`);
      if (r.profile.capabilities.calls) assertTopIs(rankHotspots(r.profile, 'calls'), 'sites_cpp.cpp', 'churn', `${id} calls`);
      // The full stack is kept: the header frames are there, above the user frame.
      const top = growth[0];
      assert.ok(top.userFrame > 0, 'allocator/library frames kept above the user frame');
      assert.ok(top.frames.slice(0, top.userFrame).some((f) => /\.h$|basic_string|new_allocator|operator new|libjemalloc/.test(`${f.file ?? ''} ${f.function ?? ''} ${f.module ?? ''}`)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a binary without debug info: sites by function, with a hint to rebuild with -g', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-prof-nodebug-'));
  try {
    const r = await profileBinary(getBackend('jemalloc-prof', { jemalloc: { lgProfInterval: 21 } }), nativeProgram('proftest-sites-nodebug'), [], 60_000, dir);
    const top = rankHotspots(r.profile, 'growth')[0];
    assert.equal(top.function, 'leak_step');
    assert.equal(top.file, null);
    assert.match(top.address ?? '', /^0x[0-9a-f]+$/);
    assert.ok(r.profile.warnings.some((w) => w.includes('-g')), r.profile.warnings.join('; '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('backend not installed: a typed error naming the Debian package', async () => {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-prof-missing-'));
  try {
    const b = heaptrackBackend();
    const a = b.available();
    assert.equal(a.ok, false);
    assert.equal(a.debianPackage, 'heaptrack');
    await assert.rejects(
      profileBinary(b, nativeProgram('proftest-sites'), [], 1000, dir),
      (e: unknown) => e instanceof BackendUnavailableError && /apt-get install heaptrack/.test(e.message),
    );
  } finally {
    process.env.PATH = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('canApplyTo: preload backends refuse a static binary and a script; massif takes the static binary', async () => {
  const stat = nativeProgram('proftest-sites-static');
  const byId = Object.fromEntries(listBackends().map((b) => [b.id, b]));
  for (const id of ['jemalloc-prof', 'heaptrack']) {
    const c = byId[id].canApplyTo(stat);
    assert.equal(c.ok, false);
    assert.match(c.reason ?? '', /statically linked.*massif/);
    assert.equal(byId[id].canApplyTo('/bin/sh').ok, true);
    assert.match(byId[id].canApplyTo(path.join(__dirname, 'nothing-here')).reason ?? '', /not found/);
  }
  assert.equal(byId['massif'].canApplyTo(stat).ok, true);
  const script = path.join(tmpdir(), `alloclab-script-${process.pid}.sh`);
  writeFileSync(script, '#!/bin/sh\n', { mode: 0o755 });
  try {
    assert.match(byId['massif'].canApplyTo(script).reason ?? '', /not a 64-bit ELF/);
    const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-prof-static-'));
    try {
      await assert.rejects(profileBinary(byId['jemalloc-prof'], stat, [], 1000, dir), TargetError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    rmSync(script, { force: true });
  }
});
