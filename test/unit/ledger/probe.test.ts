// The preload probe against real processes: live heap within 2 % of the program's own count under every
// available allocator, C and C++ entry points, fork, many short-lived threads, allocator statistics, the
// ledger of a real sample, and a static binary the probe cannot enter.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import { inspectBinary } from '../../../src/core/allocators/inspect';
import { childProbePath, ledger, measuredBytes, probeApplies, probeEnvironment, probeLibraryPath, ProbeLayoutError, readProbe, type ProbeReading } from '../../../src/core/ledger';
import { findSampleFiles, parseSampleFile } from '../../../src/core/profilers/probeSampled';
import { nativeProgram } from '../support/paths';

const LIB = '/usr/lib/x86_64-linux-gnu';
const ALLOCATORS: { id: ProbeReading['allocator']; preload: string | null }[] = [
  { id: 'glibc', preload: null },
  { id: 'jemalloc', preload: `${LIB}/libjemalloc.so.2` },
  { id: 'tcmalloc', preload: `${LIB}/libtcmalloc_minimal.so.4` },
  { id: 'mimalloc', preload: `${LIB}/libmimalloc.so.2` },
];

// tmpfs when there is one: the probe's file is written at every allocation's cache line, keep it off disk.
const shmRoot = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'alloclab-probe-test-'));
const running = new Set<ChildProcess>();
after(() => {
  for (const c of running) killGroup(c);
  fs.rmSync(shmRoot, { recursive: true, force: true });
});

let seq = 0;
function freshShm(): string {
  return path.join(shmRoot, `t${seq++}.probe`);
}

function killGroup(c: ChildProcess): void {
  try {
    if (c.pid) process.kill(-c.pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
  running.delete(c);
}

interface Started {
  child: ChildProcess;
  lines: string[];
  shm: string;
}

/** Starts `program args` under the probe (and allocator), resolves once it printed "ready". */
async function start(program: string, args: string[], preload: string | null, shm = freshShm()): Promise<Started> {
  const env = { ...process.env, ...probeEnvironment(shm, preload ? { LD_PRELOAD: preload } : {}) };
  const child = spawn(program, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${program} ${args.join(' ')}: no "ready" within 10 s; stderr: ${stderr}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
      if (parts.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${program} exited (${code ?? signal}) before "ready"; stderr: ${stderr}`));
    });
  });
  child.removeAllListeners('exit');
  return { child, lines, shm };
}

function field(lines: string[], name: string): number {
  const line = lines.find((l) => l.startsWith(`${name} `));
  assert.ok(line, `no "${name}" line in ${JSON.stringify(lines)}`);
  return Number(line.split(' ')[1]);
}

function assertWithin(actual: number | null, expected: number, fraction: number, what: string): void {
  assert.ok(actual !== null, `${what}: no live bytes`);
  const off = Math.abs(actual - expected) / expected;
  assert.ok(off <= fraction, `${what}: probe ${actual} vs program ${expected} (${(off * 100).toFixed(2)} % off, allowed ${fraction * 100} %)`);
}

/** A reading whose statistics were collected entirely after the program printed "ready" (two publications later). */
async function freshStats(shm: string, allocator: 'glibc' | 'jemalloc'): Promise<ProbeReading> {
  const first = readProbe(shm)?.stats?.publications ?? 0;
  return waitFor(`${allocator} statistics`, () => {
    const x = readProbe(shm);
    return x?.stats?.[allocator] && x.stats.publications >= first + 2 ? x : null;
  });
}

async function waitFor<T>(what: string, get: () => T | null | undefined, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const a of ALLOCATORS) {
  const missing = a.preload !== null && !fs.existsSync(a.preload);
  test(`${a.id}: C entry points (malloc_usable_size called by the program itself) within 2 %`, { skip: missing && `${a.preload} not installed` }, async () => {
    const s = await start(nativeProgram('probetest'), ['known'], a.preload);
    try {
      const r = readProbe(s.shm);
      assert.ok(r, 'no probe reading');
      assert.equal(r.pid, s.child.pid);
      assert.equal(r.allocator, a.id);
      if (a.preload) assert.equal(fs.realpathSync(r.allocatorPath), fs.realpathSync(a.preload));
      assertWithin(r.liveBytes, field(s.lines, 'count'), 0.02, `${a.id} known`);
      // 24000 malloc + 1000 calloc + 100 realloc chains + ... of which about half were freed.
      assert.ok(r.allocations >= 26_000, `allocations ${r.allocations}`);
      assert.ok(r.frees >= 13_000, `frees ${r.frees}`);
    } finally {
      killGroup(s.child);
    }
  });

  test(`${a.id}: every C++ operator new/delete variant within 2 %`, { skip: missing && `${a.preload} not installed` }, async () => {
    // mimalloc's operator new aborts rather than throws without a new-handler, probe or not.
    const tryThrow = a.id !== 'mimalloc';
    const s = await start(nativeProgram('probetest-cpp'), tryThrow ? ['throw'] : [], a.preload);
    try {
      if (tryThrow) assert.equal(field(s.lines, 'threw'), 1);
      const r = readProbe(s.shm);
      assert.ok(r);
      assertWithin(r.liveBytes, field(s.lines, 'count'), 0.02, `${a.id} C++`);
      assert.ok(r.allocations >= 34_000, `allocations ${r.allocations}`);
    } finally {
      killGroup(s.child);
    }
  });

  test(`${a.id}: 200 short-lived threads, frees across threads, within 2 %`, { skip: missing && `${a.preload} not installed` }, async () => {
    const s = await start(nativeProgram('probetest'), ['threads'], a.preload);
    try {
      const r = readProbe(s.shm);
      assert.ok(r);
      assertWithin(r.liveBytes, field(s.lines, 'count'), 0.02, `${a.id} threads`);
      assert.ok(r.allocations >= 200 * 1500, `allocations ${r.allocations}`);
      assert.ok(r.frees >= 200 * 1500, `frees ${r.frees}`);
    } finally {
      killGroup(s.child);
    }
  });
}

for (const a of ALLOCATORS.slice(0, 2)) {
  test(`${a.id}: 80 threads alive at once (beyond the thread-owned shards) within 2 %`, async () => {
    const s = await start(nativeProgram('probetest'), ['wide'], a.preload);
    try {
      const r = readProbe(s.shm);
      assert.ok(r);
      assertWithin(r.liveBytes, field(s.lines, 'count'), 0.02, `${a.id} wide`);
      assert.ok(r.allocations >= 80 * 1500, `allocations ${r.allocations}`);
    } finally {
      killGroup(s.child);
    }
  });

  test(`${a.id}: fork: the child counts into its own file, the parent's count is unaffected`, async () => {
    const s = await start(nativeProgram('probetest'), ['fork'], a.preload);
    try {
      const childLine = s.lines.find((l) => l.startsWith('child '))!.split(' ');
      const childPid = Number(childLine[1]);
      assert.equal(childLine[2], '0', 'child exit status');
      const parent = readProbe(s.shm);
      assert.ok(parent);
      assert.equal(parent.pid, s.child.pid);
      assert.equal(parent.parentPid, null);
      assertWithin(parent.liveBytes, field(s.lines, 'count'), 0.02, `${a.id} parent after fork`);
      const child = readProbe(childProbePath(s.shm, childPid));
      assert.ok(child, 'no file for the forked child');
      assert.equal(child.pid, childPid);
      assert.equal(child.parentPid, s.child.pid);
      assertWithin(child.liveBytes, field(s.lines, 'child-count'), 0.02, `${a.id} child`);
    } finally {
      killGroup(s.child);
    }
  });
}

test('glibc: directly mmapped blocks churned by 4 threads (malloc, calloc, posix_memalign, realloc, frees from another thread) are counted exactly', async () => {
  // The probe records each direct block as it is handed out and drops it before it goes back: after the churn, its
  // count and usable bytes are the program's own, to the block and to the byte.
  const s = await start(nativeProgram('probetest'), ['direct'], null);
  try {
    const line = s.lines.find((l) => l.startsWith('direct '));
    assert.ok(line, `no "direct" line in ${JSON.stringify(s.lines)}`);
    const [, blocks, usable] = line.split(' ').map(Number);
    assert.ok(blocks > 50, `the churn leaves blocks: ${blocks}`);
    const m = (await freshStats(s.shm, 'glibc')).stats!.map!;
    assert.equal(m.directBlocks, blocks);
    assert.equal(m.directUsableBytes, usable);
    // Resident: what mincore finds of them, at most their mappings (calloc and malloc leave most pages untouched).
    assert.ok(m.directBytes! > 0 && m.directBytes! <= usable + blocks * 8192, `direct resident ${m.directBytes} of ${usable}`);
  } finally {
    killGroup(s.child);
  }
});

test('glibc: arena list and memory map at every publication, mallinfo2 as a cross-check, and the ledger of a real sample adds up', async () => {
  const s = await start(nativeProgram('probetest'), ['known'], null);
  try {
    const readyNs = process.hrtime.bigint();
    const r = await freshStats(s.shm, 'glibc');
    const g = r.stats!.glibc!;
    const m = r.stats!.map!;
    assert.ok(r.statsThread);
    assert.ok(r.arenaList, 'glibc 2.36: the arena list is read directly');
    assert.ok(r.stats!.ageMs >= 0 && r.stats!.ageMs < 5000, `age ${r.stats!.ageMs}`);
    assert.ok(g.arenas! >= 2, `arenas ${g.arenas} (main + the probe thread's)`);
    assert.ok(g.systemBytes! >= m.heapBytes!, `system ${g.systemBytes} >= resident heap ${m.heapBytes}`);
    // The program allocated 8 blocks of 1 MiB and 2 of 2 MiB (mmapped directly) and freed every other block:
    // 5 remain, recorded by the probe as they were handed out (the IS_MMAPPED bit of their chunk headers).
    assert.ok(m.directBlocks! >= 5, `direct blocks ${m.directBlocks}`);
    assert.ok(m.directUsableBytes! >= 5 * 1024 * 1024, `direct usable ${m.directUsableBytes}`);
    assertWithin(m.liveBytes ?? null, r.liveBytes!, 0.02, "live at the map");
    assert.ok(m.heapBytes! > 0 && m.anonBytes! >= m.heapBytes!, `heap ${m.heapBytes} anon ${m.anonBytes}`);

    // The cross-check runs a second after start, then every 10 s: wait for one taken after the program was ready.
    const checked = await waitFor('a mallinfo2 cross-check', () => {
      const x = readProbe(s.shm);
      return x?.stats?.glibc?.mallinfoAtNs !== undefined && BigInt(x.stats.glibc.mallinfoAtNs) > readyNs ? x : null;
    });
    const c = checked.stats!.glibc!;
    // uordblks + hblkhd counts chunk sizes of blocks in use: a little above the usable sizes, never below.
    const inUse = c.inUseBytes! + c.mmappedBytes!;
    assert.ok(inUse >= checked.liveBytes! && inUse < checked.liveBytes! * 1.2, `in use ${inUse} vs live ${checked.liveBytes}`);
    assert.ok(c.freeBytes! > 0, 'about half the blocks were freed: free chunks expected');
    assert.ok(c.mallinfoCostNs! > 0);

    const status = fs.readFileSync(`/proc/${s.child.pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
    const sample = { t: 0, rssBytes: kb('VmRSS'), anonBytes: kb('RssAnon'), fileBytes: kb('RssFile'), shmemBytes: kb('RssShmem'), threads: 2 };
    const l = ledger(sample, checked);
    assert.equal(l.basis, 'allocator-stats');
    assert.equal(l.liveHeapBytes + m.directUsableBytes!, checked.liveBytes);
    assert.equal(l.fileBytes, sample.fileBytes + sample.shmemBytes);
    assert.ok(l.threadStacksBytes > 0, 'the main thread\'s stack');
    // The blocks are written by calloc only in part, so live may exceed anon; when it does not, the parts add up.
    if (l.liveHeapBytes <= sample.anonBytes) {
      assert.equal(measuredBytes(l) + l.otherAnonBytes, sample.anonBytes);
    }
  } finally {
    killGroup(s.child);
  }
});

test('jemalloc: mallctl statistics published and consistent with the probe', { skip: !fs.existsSync(`${LIB}/libjemalloc.so.2`) && 'libjemalloc2 is not installed' }, async () => {
  const s = await start(nativeProgram('probetest'), ['known'], `${LIB}/libjemalloc.so.2`);
  try {
    const r = await freshStats(s.shm, 'jemalloc');
    const j = r.stats!.jemalloc!;
    // stats.allocated is jemalloc's own sum of usable sizes: the two counts of the same thing must agree.
    assertWithin(j.allocatedBytes!, r.liveBytes!, 0.02, 'jemalloc stats.allocated');
    assert.ok(j.residentBytes! >= j.allocatedBytes! * 0.5, `resident ${j.residentBytes}`);
    assert.ok(j.activeBytes! >= j.allocatedBytes!, 'active pages hold the allocated bytes');
    assert.ok(j.arenas! >= 1);
  } finally {
    killGroup(s.child);
  }
});

test('a static binary: probeApplies says why, and no probe file appears', async () => {
  const program = nativeProgram('static-hello');
  const reason = probeApplies(inspectBinary(program));
  assert.match(reason ?? '', /statically linked/);
  assert.equal(probeApplies(inspectBinary(nativeProgram('probetest'))), null);

  const shm = freshShm();
  const env = { ...process.env, ...probeEnvironment(shm) };
  const child = spawn(program, [], { env, detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  running.add(child);
  try {
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
    assert.equal(fs.existsSync(shm), false);
    assert.equal(readProbe(shm), null);
  } finally {
    killGroup(child);
  }
});

test('probeEnvironment puts the probe first, then the allocator, then the user preloads', () => {
  const env = probeEnvironment('/dev/shm/x.probe', { LD_PRELOAD: `${LIB}/libjemalloc.so.2:/opt/user/shim.so ${probeLibraryPath()}` });
  assert.equal(env.ALLOCLAB_PROBE_SHM, '/dev/shm/x.probe');
  assert.deepEqual(env.LD_PRELOAD.split(':'), [probeLibraryPath(), `${LIB}/libjemalloc.so.2`, '/opt/user/shim.so']);
  assert.deepEqual(probeEnvironment('/p', {}).LD_PRELOAD, probeLibraryPath());
});

test('readProbe: the sampling block carries the sampled profiler\'s counters, the same as its sample file; none without sampling', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-probe-sampling-'));
  try {
    const shm = freshShm();
    const env = { ...process.env, ...probeEnvironment(shm), ALLOCLAB_PROBE_SAMPLE_DIR: dir, ALLOCLAB_PROBE_SAMPLE_INTERVAL: '65536' };
    const r = spawnSync(nativeProgram('proftest-sites'), ['0'], { env, timeout: 60_000 });
    assert.equal(r.status, 0, String(r.stderr));
    const s = readProbe(shm)?.sampling;
    assert.ok(s, 'no sampling counters');
    const [file] = findSampleFiles(dir);
    const recorded = parseSampleFile(file);
    assert.equal(s.intervalBytes, 65536);
    assert.equal(s.maxDepth, 64);
    assert.ok(s.samples > 100, `samples ${s.samples}`);
    assert.equal(s.samples, recorded.samples);
    assert.equal(s.dropped, recorded.dropped);
    assert.equal(s.liveTracked, recorded.liveTracked);
    // Published after the last write: the whole file, its exit record included.
    assert.equal(s.bytesWritten, fs.statSync(file).size);
    assert.ok(['frame-pointers', 'libunwind', 'gcc'].includes(s.unwinder), s.unwinder);
    // The ledger alone: no sampling block.
    const plain = freshShm();
    assert.equal(spawnSync(nativeProgram('proftest-sites'), ['0'], { env: { ...process.env, ...probeEnvironment(plain) }, timeout: 60_000 }).status, 0);
    assert.equal(readProbe(plain)?.sampling, null);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('readProbe: null for a missing, short or foreign file', () => {
  const missing = freshShm();
  assert.equal(readProbe(missing), null);
  fs.writeFileSync(missing, Buffer.alloc(100));
  assert.equal(readProbe(missing), null);
  fs.writeFileSync(missing, Buffer.alloc(8192, 0x41));
  assert.equal(readProbe(missing), null);
});

test('readProbe: a file of another layout version is refused with an error that says to rebuild the probe', () => {
  const file = freshShm();
  const buf = Buffer.alloc(8192);
  buf.write('ALCPROBE', 0, 'latin1');
  buf.writeUInt32LE(1, 8); // version 1: shards at 512, no control block
  fs.writeFileSync(file, buf);
  assert.throws(() => readProbe(file), (e: Error) => e instanceof ProbeLayoutError && /version 1/.test(e.message) && /make -C native/.test(e.message));
});
