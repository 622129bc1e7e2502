// The operating system's room (src/core/os): the environment composer, the PATH search, the process table,
// and the run-id tag that finds processes outside their group.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { composePreload, EnvironmentVars } from '../../../src/core/os/env';
import { guardLaunch, killTagged, RUN_ID_VAR, taggedPids } from '../../../src/core/os/groups';
import { descendantsOf, pageSize, processTable, readEnviron, residentBytes } from '../../../src/core/os/proc';
import { pathDirs, which } from '../../../src/core/os/which';

const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-os-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('LD_PRELOAD is composed one way: ours first, the rest as written, no duplicates', () => {
  assert.equal(composePreload(['/a.so'], undefined), '/a.so');
  assert.equal(composePreload(['/a.so'], '/u.so /a.so:/v.so'), '/a.so:/u.so:/v.so');
  assert.equal(composePreload(['/p.so', '/a.so'], '/a.so'), '/p.so:/a.so');
  assert.equal(composePreload([], '/u.so'), '/u.so');
});

test('EnvironmentVars never changes what it was made from', () => {
  const base = { PATH: '/bin', LD_PRELOAD: '/u.so', GONE: 'x', UNDEF: undefined };
  const a = EnvironmentVars.from(base);
  const b = a.merge({ GONE: null, NEW: '1' }).withPreload('/a.so').withListItem('MALLOC_CONF', 'prof:true', ',').withListItem('MALLOC_CONF', 'lg:1', ',');
  assert.deepEqual(a.toObject(), { PATH: '/bin', LD_PRELOAD: '/u.so', GONE: 'x' });
  assert.deepEqual(b.toObject(), { PATH: '/bin', LD_PRELOAD: '/a.so:/u.so', NEW: '1', MALLOC_CONF: 'prof:true,lg:1' });
  const obj = b.toObject();
  obj.PATH = 'changed';
  assert.equal(b.get('PATH'), '/bin');
  assert.equal(base.LD_PRELOAD, '/u.so');
});

test('which: executable files only, PATH order, empty entry is the current directory, extra dirs last', () => {
  const d1 = path.join(dir, 'one');
  const d2 = path.join(dir, 'two');
  mkdirSync(d1);
  mkdirSync(d2);
  writeFileSync(path.join(d1, 'tool'), '#!/bin/sh\n');
  chmodSync(path.join(d1, 'tool'), 0o644); // not executable: skipped
  writeFileSync(path.join(d2, 'tool'), '#!/bin/sh\n');
  chmodSync(path.join(d2, 'tool'), 0o755);
  mkdirSync(path.join(d1, 'adir'));
  assert.equal(which('tool', { pathEnv: `${d1}:${d2}` }), path.join(d2, 'tool'));
  assert.equal(which('adir', { pathEnv: d1 }), null);
  assert.equal(which('tool', { pathEnv: '', cwd: d2 }), path.join(d2, 'tool'));
  assert.equal(which('tool', { pathEnv: d1, extraDirs: [d2] }), path.join(d2, 'tool'));
  assert.equal(which(path.join(d2, 'tool')), path.join(d2, 'tool'));
  assert.deepEqual(pathDirs('/a::/b'), ['/a', '', '/b']);
  assert.ok(pathDirs(undefined).includes('/usr/bin'));
});

test('the process table sees a child and its tree; statm uses the real page size', async () => {
  const child = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
  try {
    let tree: number[] = [];
    for (let i = 0; i < 100 && tree.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      tree = descendantsOf(child.pid!);
    }
    assert.equal(tree[0], child.pid);
    assert.equal(tree.length, 2, `tree ${tree}`);
    const row = processTable().find((p) => p.pid === tree[1])!;
    assert.equal(row.ppid, child.pid);
    assert.equal(row.comm, 'sleep');
    assert.ok(pageSize() >= 4096);
    assert.equal((residentBytes(process.pid) ?? 0) % pageSize(), 0);
  } finally {
    child.kill('SIGKILL');
  }
});

test('a launch is tagged with a run id; killTagged finds it even after it left its group (setsid)', async () => {
  const g = guardLaunch('setsid', ['sleep', '30'], { PATH: process.env.PATH ?? '' });
  assert.ok(g.env[RUN_ID_VAR]?.endsWith(`-${g.tag.split('-').pop()}`));
  const child = spawn(g.file, g.args, { env: g.env, stdio: 'ignore', detached: true });
  try {
    let pids: number[] = [];
    for (let i = 0; i < 100 && pids.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      pids = taggedPids(g.tag).filter((p) => readEnviron(p)?.get(RUN_ID_VAR) === g.tag);
    }
    assert.ok(pids.length >= 1, 'the tagged process is visible');
    assert.ok(killTagged(g.tag) >= 1);
    for (let i = 0; i < 100 && taggedPids(g.tag).length; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(taggedPids(g.tag), []);
  } finally {
    child.kill('SIGKILL');
  }
});
