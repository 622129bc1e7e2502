// procfs parsing and tree discovery against real processes (never canned /proc text).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { processTree, sampleOnce } from '../../../src/core/sampler';
import { pageSize, parseStat, parseStatm, parseStatus, ProcessReader } from '../../../src/core/os/proc';
import { samplertest, Target } from './target';

const MiB = 1024 * 1024;
const targets: Target[] = [];
let dir: string;

before(() => {
  samplertest();
  dir = mkdtempSync(path.join(tmpdir(), 'alloclab-procfs-'));
});
after(() => {
  for (const t of targets) t.kill();
  rmSync(dir, { recursive: true, force: true });
});

function target(args: string[], program?: string): Target {
  const t = new Target(args, program);
  targets.push(t);
  return t;
}

function vmRssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

describe('procfs', () => {
  it('statm resident pages agree with VmRSS of status', async () => {
    const t = target(['hold', String(32 * MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    const fromStatm = parseStatm(readFileSync(`/proc/${t.pid}/statm`, 'latin1'))! * pageSize();
    assert.equal(fromStatm, vmRssBytes(t.pid));
    assert.ok(fromStatm > 32 * MiB);
  });

  it('parses stat of a process whose name holds spaces and parentheses', async () => {
    // The kernel names a process after the file it executed; a symlink gives it an awkward name.
    const link = path.join(dir, 'a b) (c');
    symlinkSync(samplertest(), link);
    const t = target(['hold', String(MiB)], link);
    assert.equal(await t.nextLine(), 'touched');
    const text = readFileSync(`/proc/${t.pid}/stat`, 'latin1');
    assert.ok(text.includes('(a b) (c)'), text.slice(0, 40));
    const s = parseStat(text);
    assert.equal(s.ppid, process.pid);
    assert.equal(s.threads, 1);
    assert.match(s.state, /^[RSD]$/);
    assert.ok(s.utime >= 0 && s.stime >= 0);
  });

  it('parses the RSS breakdown of status', async () => {
    const t = target(['hold', String(16 * MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    const s = parseStatus(readFileSync(`/proc/${t.pid}/status`, 'latin1'))!;
    assert.ok(s.anonBytes >= 16 * MiB && s.anonBytes < 17 * MiB, `anon ${s.anonBytes}`);
    assert.equal(s.anonBytes + s.fileBytes + s.shmemBytes, vmRssBytes(t.pid));
  });

  it('a reader keeps reading through its open files and returns null once the process is gone', async () => {
    const t = target(['hold', String(MiB)]);
    assert.equal(await t.nextLine(), 'touched');
    const r = ProcessReader.open(t.pid)!;
    try {
      assert.equal(r.rssBytes(), vmRssBytes(t.pid));
      assert.equal(r.stat()!.ppid, process.pid);
      t.kill();
      await t.exited; // reaped by Node
      assert.equal(r.rssBytes(), null);
      assert.equal(r.stat(), null);
      assert.equal(ProcessReader.open(t.pid), null);
    } finally {
      r.close();
    }
  });

  it('takes a zombie for gone, and leaves it out of its parent\'s tree sum', async () => {
    const t = target(['zombie', '0']);
    const zombie = Number(/^zombie (\d+)$/.exec(await t.nextLine())![1]);
    assert.match(readFileSync(`/proc/${zombie}/stat`, 'latin1'), /\) Z /);
    const r = ProcessReader.open(zombie)!;
    try {
      assert.equal(r.rssBytes(), null);
    } finally {
      r.close();
    }
    assert.equal(sampleOnce(zombie), null);
    assert.deepEqual(processTree(t.pid), [t.pid, zombie]);
    const s = sampleOnce(t.pid)!;
    assert.equal(s.processes, 1);
    assert.equal(s.rssBytes, vmRssBytes(t.pid));
  });
});

describe('processTree and sampleOnce', () => {
  it('finds a forked child and sums it', async () => {
    const t = target(['fork', String(16 * MiB)]);
    assert.equal(await t.nextLine(), 'ready');
    assert.deepEqual(processTree(t.pid), [t.pid]);
    const alone = sampleOnce(t.pid)!;
    t.send('go');
    const child = Number(/^child-touched (\d+)$/.exec(await t.nextLine())![1]);
    assert.deepEqual(processTree(t.pid), [t.pid, child]);
    assert.ok(processTree(process.pid).includes(child), 'a grandchild of this test process');
    const both = sampleOnce(t.pid)!;
    assert.equal(both.t, 0);
    assert.equal(both.processes, 2);
    assert.equal(both.rssBytes, vmRssBytes(t.pid) + vmRssBytes(child));
    assert.ok(both.rssBytes - alone.rssBytes >= 16 * MiB);
    assert.ok(both.pssBytes! >= 16 * MiB && both.anonBytes! >= 16 * MiB);
    const parentOnly = sampleOnce(t.pid, false)!;
    assert.equal(parentOnly.processes, 1);
    assert.equal(parentOnly.rssBytes, vmRssBytes(t.pid));
  });

  it('knows nothing of a process that does not exist', async () => {
    const t = target(['hold', '1']);
    await t.nextLine();
    t.kill();
    await t.exited;
    assert.deepEqual(processTree(t.pid), []);
    assert.equal(sampleOnce(t.pid), null);
  });
});
