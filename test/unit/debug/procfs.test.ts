// Finding a debuggee below a real adapter-like process tree, snapshots of a real process, and the EACCES case
// (an unprivileged user created for the test reading a root process's smaps_rollup).
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import {
  diffSnapshots, findDebuggeePid, parseSnapshots, ProcessGoneError, ProcfsAccessError, readMemorySnapshot,
} from '../../../src/core/debug';
import { nativeProgram } from '../support/paths';

// Child mode: this same bundle, run as the unprivileged user, tries the snapshot and prints what happened.
if (process.env.ALLOCLAB_SNAPSHOT_CHILD) {
  try {
    readMemorySnapshot(Number(process.env.ALLOCLAB_SNAPSHOT_CHILD));
    console.log(JSON.stringify({ ok: true }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, name: (e as Error).name, message: (e as Error).message }));
  }
  process.exit(0);
}

const started: ChildProcess[] = [];
function start(cmd: string, args: string[], opts: { uid?: number; gid?: number; keepStdin?: boolean } = {}): ChildProcess {
  const { keepStdin, ...ids } = opts;
  const p = spawn(cmd, args, { detached: true, stdio: [keepStdin ? 'pipe' : 'ignore', 'pipe', 'inherit'], ...ids });
  started.push(p);
  return p;
}
after(() => {
  for (const p of started) {
    try {
      process.kill(-p.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
});

function firstLine(p: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    p.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    p.on('exit', () => reject(new Error(`exited before a line: ${buf}`)));
  });
}

describe('debuggee discovery from procfs', () => {
  it('finds the debuggee below an adapter, skipping a debugger-named helper and excluded pids', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-dbg-'));
    try {
      // A helper named like lldb's server beside the debuggee: its name marks it as the debugger's.
      const helper = path.join(dir, 'lldb-server');
      copyFileSync(nativeProgram('sleeper'), helper);
      chmodSync(helper, 0o755);
      const script = `
        const { spawn } = require('node:child_process');
        const h = spawn(${JSON.stringify(helper)}, [], { stdio: 'ignore' });
        setTimeout(() => {
          const d = spawn(${JSON.stringify(nativeProgram('sleeper'))}, [], { stdio: 'ignore' });
          console.log(JSON.stringify({ helper: h.pid, debuggee: d.pid }));
        }, 100);
        setInterval(() => {}, 1000);`;
      const adapter = start(process.execPath, ['-e', script]);
      const ids = JSON.parse(await firstLine(adapter)) as { helper: number; debuggee: number };
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(findDebuggeePid(adapter.pid!), ids.debuggee);
      assert.equal(findDebuggeePid(adapter.pid!, { exclude: [ids.debuggee] }), null, 'a claimed pid is not found again');
      assert.equal(findDebuggeePid(ids.debuggee), null, 'a process without children has no debuggee');
      assert.equal(findDebuggeePid(adapter.pid!, { tracedOnly: true }), null, 'nothing is traced here');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prefers a process traced from inside the adapter tree', { skip: !spawnSync('which', ['lldb-16']).stdout.length && 'lldb-16 not installed' }, async () => {
    // lldb in batch mode launches the program and stops it at the raise(SIGTRAP): a real tracer/tracee pair.
    // lldb returns to its prompt at the stop: an open stdin keeps it (and its stopped debuggee) there until the end.
    const dbg = start('/usr/bin/lldb-16', ['--batch', '-o', 'run', '--', nativeProgram('debugtest'), '--mb', '1', '--sleep-ms', '1', '--trap'], { keepStdin: true });
    let pid: number | null = null;
    const end = Date.now() + 15_000;
    while (Date.now() < end && pid === null) {
      await new Promise((r) => setTimeout(r, 200));
      // Until lldb has attached, the program is only an untraced child: wait for the traced one.
      pid = findDebuggeePid(dbg.pid!, { tracedOnly: true });
    }
    assert.ok(pid, 'debuggee found');
    assert.equal(findDebuggeePid(process.pid, { tracedOnly: true }), pid, 'found from further up (the extension host case) because it is traced');
    const comm = spawnSync('cat', [`/proc/${pid}/comm`], { encoding: 'utf8' }).stdout.trim();
    assert.equal(comm, 'debugtest');
  });
});

describe('memory snapshots', () => {
  it('reads the breakdown of a real process and diffs two', async () => {
    const p = start(nativeProgram('sleeper'), []);
    await firstLine(p);
    const a = readMemorySnapshot(p.pid!, 'one');
    assert.equal(a.pid, p.pid);
    assert.ok(a.rssBytes > 100 * 1024, `RSS ${a.rssBytes}`);
    assert.ok(a.pssBytes !== null && a.pssBytes > 0 && a.pssBytes <= a.rssBytes + 4096);
    assert.equal(a.threads, 1);
    const b = { ...a, rssBytes: a.rssBytes + 4096, anonBytes: null };
    const d = diffSnapshots(a, b);
    assert.equal(d.find((r) => r.field === 'RSS')!.delta, 4096);
    assert.equal(d.find((r) => r.field === 'RSS anon')!.delta, null);
    const lines = `${JSON.stringify(a)}\n${JSON.stringify(b)}\n{"torn`;
    assert.equal(parseSnapshots(lines).length, 2);
  });

  it('a process that is gone gives ProcessGoneError', async () => {
    const p = start(nativeProgram('sleeper'), []);
    await firstLine(p);
    const pid = p.pid!;
    process.kill(-pid, 'SIGKILL');
    await new Promise((r) => p.once('exit', r));
    assert.throws(() => readMemorySnapshot(pid), ProcessGoneError);
  });

  it('EACCES: an unprivileged user reading a root process gets a clear ProcfsAccessError', { skip: process.getuid?.() !== 0 && 'needs root to create the test user' }, async () => {
    const user = 'alloclabdbg';
    if (spawnSync('id', ['-u', user]).status !== 0) {
      const r = spawnSync('useradd', ['-M', '-s', '/usr/sbin/nologin', user], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout);
    const target = start(nativeProgram('sleeper'), []);
    await firstLine(target);
    const child = spawnSync(process.execPath, [__filename], {
      uid, gid, encoding: 'utf8', env: { ALLOCLAB_SNAPSHOT_CHILD: String(target.pid), PATH: process.env.PATH }, timeout: 20_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const res = JSON.parse(child.stdout.trim().split('\n').pop()!) as { ok: boolean; name?: string; message?: string };
    assert.equal(res.ok, false, 'a root process cannot be read by another user');
    assert.equal(res.name, ProcfsAccessError.name);
    assert.match(res.message!, /Permission denied reading \/proc\/\d+\/smaps_rollup.*another user/);
  });
});
