// What each backend adds to the target's environment: nothing that fights the allocator environment it runs under.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { getBackend, JEMALLOC_PATHS } from '../../../src/core/profilers';

test('jemalloc-prof keeps the jemalloc the environment preloaded: one jemalloc in LD_PRELOAD, never a hard-coded second', () => {
  const backend = getBackend('jemalloc-prof');
  const discovered = '/opt/alloclab-test/lib/libjemalloc.so.2';
  const shim = '/opt/alloclab-test/lib/libshim.so';
  const out = backend.prepare({ command: '/bin/true', args: [], env: { LD_PRELOAD: `${discovered}:${shim}`, MALLOC_CONF: 'narenas:2' } }, '/tmp/alloclab-envdir');
  const entries = out.env.LD_PRELOAD.split(':');
  assert.deepEqual(entries, [discovered, shim], out.env.LD_PRELOAD);
  assert.ok(!entries.some((e) => JEMALLOC_PATHS.includes(e)), 'no hard-coded jemalloc path added');
  assert.match(out.env.MALLOC_CONF, /^narenas:2,prof:true,/);
});

test('jemalloc-prof run without the jemalloc environment preloads the jemalloc it found, first, once', (t) => {
  const backend = getBackend('jemalloc-prof');
  if (!backend.available().ok) return t.skip('jemalloc not installed');
  const out = backend.prepare({ command: '/bin/true', args: [], env: { LD_PRELOAD: '/opt/alloclab-test/lib/libshim.so' } }, '/tmp/alloclab-envdir');
  const entries = out.env.LD_PRELOAD.split(':');
  assert.equal(entries.filter((e) => /libjemalloc/.test(e)).length, 1);
  assert.ok(JEMALLOC_PATHS.includes(entries[0]));
  assert.equal(entries[1], '/opt/alloclab-test/lib/libshim.so');
});

test('a backend that recorded nothing points at the logs a run writes (stdout.log, stderr.log), not at target.log', async () => {
  const { mkdtempSync, mkdirSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const envDir = mkdtempSync(path.join(tmpdir(), 'alloclab-nothing-'));
  const raw = path.join(envDir, 'profile');
  mkdirSync(raw);
  try {
    for (const id of ['heaptrack', 'massif', 'probe-sampled']) {
      await assert.rejects(getBackend(id).collect(raw, { startedAtMs: Date.now() }), (e: Error) => {
        assert.doesNotMatch(e.message, /target\.log/, id);
        assert.match(e.message, /stdout\.log and stderr\.log/, id);
        assert.ok(e.message.includes(envDir), `${id}: ${e.message}`);
        return true;
      });
    }
  } finally {
    rmSync(envDir, { recursive: true, force: true });
  }
});
