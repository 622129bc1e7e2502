// Allocator environments against real processes: discovery, composition, and whether the environment really
// took effect (maps, auxv, environ) for preloads, env-only profiles, static, own-allocator and setuid binaries.
import { strict as assert } from 'node:assert';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, test } from 'node:test';
import { AllocatorNotFoundError, AlloclabError } from '../../../src/core/errors';
import {
  clearAllocatorCache, composeEnvironment, discoverAllocators, inspectBinary, preflight, resolveEnvironments, verifyEnvironment,
  type AllocatorProfile,
} from '../../../src/core/allocators';
import { killAllTargets, launchTarget, type TargetProcess } from '../../../src/core/launch';
import { nativeProgram } from '../support/paths';

const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'alloclab-alloc-'));
const started: TargetProcess[] = [];
after(async () => {
  killAllTargets();
  await Promise.all(started.map((t) => t.exited.catch(() => undefined)));
  rmSync(tmp, { recursive: true, force: true });
});

function profile(id: string): AllocatorProfile {
  return resolveEnvironments([id])[0];
}

let n = 0;
/** Runs `command` under `p` (env composed as a run would), waits for a ready line, returns the live target. */
async function runUnder(p: AllocatorProfile, command: string, args: string[], opts: { targetEnv?: Record<string, string>; ready?: string } = {}) {
  const dir = path.join(tmp, `run-${++n}`);
  mkdirSync(dir);
  const { env } = composeEnvironment({ PATH: process.env.PATH }, opts.targetEnv ?? {}, p);
  const t = await launchTarget({ command, args, cwd: dir, env, stdoutPath: path.join(dir, 'out'), stderrPath: path.join(dir, 'err') });
  started.push(t);
  await t.waitReady({ logLine: opts.ready ?? '^ready', timeoutMs: 5000 });
  return { t, dir };
}

test('discovery lists the built-ins with availability, and the Debian libraries are found', () => {
  const all = discoverAllocators();
  assert.deepEqual(all.map((p) => p.id), ['glibc', 'glibc-arena-2', 'glibc-trim', 'glibcxx-force-new', 'jemalloc', 'tcmalloc', 'mimalloc', 'as-shipped']);
  for (const p of all) {
    assert.equal(p.available, true, `${p.id}: ${p.unavailableReason}`);
    assert.ok(p.description.length > 20);
  }
  const je = all.find((p) => p.id === 'jemalloc')!;
  assert.equal(je.preload, JEMALLOC);
  assert.equal(je.debianPackage, 'libjemalloc2');
  assert.match(all.find((p) => p.id === 'tcmalloc')!.preload!, /libtcmalloc_minimal\.so\.4$/);
  assert.match(all.find((p) => p.id === 'mimalloc')!.preload!, /libmimalloc\.so\.2$/);
  assert.deepEqual(profile('glibc-arena-2').env, { MALLOC_ARENA_MAX: '2' });
  assert.equal(profile('glibc-trim').env.MALLOC_TRIM_THRESHOLD_, '131072');
  assert.match(profile('glibcxx-force-new').description, /GCC 12/);
});

test('searchPaths come first; the library is recognised in the maps by inode under any path', async () => {
  const dir = path.join(tmp, 'libs');
  mkdirSync(dir);
  symlinkSync(profile('mimalloc').preload!, path.join(dir, 'libmimalloc.so.2'));
  const found = discoverAllocators({ searchPaths: [dir] }).find((p) => p.id === 'mimalloc')!;
  assert.equal(found.preload, path.join(dir, 'libmimalloc.so.2'));
  const { t } = await runUnder(found, nativeProgram('print-env'), ['--wait']);
  const v = verifyEnvironment(t.pid, found);
  assert.equal(v.applied, true, v.notAppliedReason);
  assert.ok(!v.mappedLibraries.includes(found.preload!), 'the maps name the real file, not our symlink');
  await t.stop();
  // A library for another architecture (or not ELF at all) is skipped, not preloaded.
  const bad = path.join(tmp, 'badlibs');
  mkdirSync(bad);
  writeFileSync(path.join(bad, 'libjemalloc.so.2'), 'not an ELF file');
  assert.equal(discoverAllocators({ searchPaths: [bad] }).find((p) => p.id === 'jemalloc')!.preload, JEMALLOC);
});

test('custom profiles: library or env, problems reported; unknown ids throw AllocatorNotFoundError', () => {
  const opts = {
    custom: [
      { id: 'my-je', library: JEMALLOC, label: 'my jemalloc' },
      { id: 'missing-lib', library: path.join(tmp, 'nope', 'libx.so') },
      { id: 'not-elf', library: path.join(tmp, 'text.so') },
      { id: 'je-conf', env: { MALLOC_CONF: 'narenas:1' } },
    ],
  };
  writeFileSync(path.join(tmp, 'text.so'), 'hello');
  clearAllocatorCache();
  const [mine, missing, notElf, conf] = resolveEnvironments(['my-je', 'missing-lib', 'not-elf', 'je-conf'], opts);
  assert.equal(mine.available, true);
  assert.equal(mine.preload, JEMALLOC);
  assert.equal(mine.custom, true);
  assert.equal(missing.available, false);
  assert.match(missing.unavailableReason!, /does not exist/);
  assert.equal(notElf.available, false);
  assert.match(notElf.unavailableReason!, /not an ELF shared library/);
  assert.deepEqual(conf.env, { MALLOC_CONF: 'narenas:1' });
  assert.equal(conf.preload, null);
  assert.throws(() => resolveEnvironments(['glibc', 'hoard']), (e: Error) => e instanceof AllocatorNotFoundError && /hoard/.test(e.message) && /jemalloc/.test(e.message));
  assert.throws(() => discoverAllocators({ custom: [{ id: 'jemalloc', library: JEMALLOC }] }), (e: Error) => e instanceof AlloclabError && /already taken/.test(e.message));
  assert.throws(() => discoverAllocators({ custom: [{ id: 'empty' }] }), /needs a library/);
  assert.throws(() => discoverAllocators({ custom: [{ id: 'bad/id', env: { A: '1' } }] }), /not usable as a name/);
});

test('composeEnvironment: profile first in LD_PRELOAD, the user\'s entries kept, profile env wins', () => {
  const je = profile('jemalloc');
  const { env, applied } = composeEnvironment(
    { PATH: '/bin', HOME: '/root', LD_PRELOAD: '/base/ignored.so', GONE: undefined },
    { LD_PRELOAD: `/opt/tracer.so:${JEMALLOC} /opt/shim.so`, MALLOC_ARENA_MAX: '8' },
    { ...je, env: { MALLOC_ARENA_MAX: '1' } },
  );
  assert.equal(env.LD_PRELOAD, `${JEMALLOC}:/opt/tracer.so:/opt/shim.so`);
  assert.equal(env.MALLOC_ARENA_MAX, '1');
  assert.equal(env.PATH, '/bin');
  assert.equal('GONE' in env, false);
  assert.deepEqual(applied, { MALLOC_ARENA_MAX: '1', LD_PRELOAD: JEMALLOC });
  const plain = composeEnvironment({ LD_PRELOAD: '/user/lib.so' }, {}, profile('glibc-arena-2'));
  assert.equal(plain.env.LD_PRELOAD, '/user/lib.so');
  assert.deepEqual(plain.applied, { MALLOC_ARENA_MAX: '2' });
});

test('jemalloc preload is verified from the maps, and the user\'s own LD_PRELOAD stays loaded', async () => {
  const noop = nativeProgram('libnoop-preload.so');
  const je = profile('jemalloc');
  const { t } = await runUnder(je, nativeProgram('print-env'), ['--wait'], { targetEnv: { LD_PRELOAD: noop } });
  const v = verifyEnvironment(t.pid, je, inspectBinary(nativeProgram('print-env')));
  assert.equal(v.applied, true, v.notAppliedReason);
  assert.equal(v.mappedAllocator, JEMALLOC);
  assert.ok(v.mappedLibraries.includes(JEMALLOC));
  assert.ok(v.mappedLibraries.includes(noop), v.mappedLibraries.join(' '));
  const environ = readFileSync(`/proc/${t.pid}/environ`, 'utf8').split('\0');
  assert.ok(environ.includes(`LD_PRELOAD=${JEMALLOC}:${noop}`));
  // The same target judged against a profile it does not run under.
  const mi = profile('mimalloc');
  const wrong = verifyEnvironment(t.pid, mi);
  assert.equal(wrong.applied, false);
  assert.match(wrong.notAppliedReason!, /without .*libmimalloc/);
  // Under glibc's own baseline the check says another allocator serves malloc.
  const base = verifyEnvironment(t.pid, profile('glibc'));
  assert.equal(base.applied, false);
  assert.match(base.notAppliedReason!, /libjemalloc.so.2 serves malloc/);
  await t.stop();
});

test('every built-in preload profile loads and is recognised in the maps', async () => {
  for (const id of ['jemalloc', 'tcmalloc', 'mimalloc']) {
    const p = profile(id);
    const { t } = await runUnder(p, nativeProgram('alloc-known'), ['4']);
    const v = verifyEnvironment(t.pid, p);
    assert.equal(v.applied, true, `${id}: ${v.notAppliedReason}`);
    assert.match(v.mappedAllocator!, new RegExp(`lib${id === 'tcmalloc' ? 'tcmalloc_minimal' : id}\\.so`));
    await t.stop();
  }
});

test('GLIBCXX_FORCE_NEW: applied to a C++ program; on a C program the variable is there but libstdc++ is not', async () => {
  const p = profile('glibcxx-force-new');
  const { t: cxx } = await runUnder(p, nativeProgram('cxx-sleeper'), []);
  const ok = verifyEnvironment(cxx.pid, p);
  assert.equal(ok.applied, true, ok.notAppliedReason);
  await cxx.stop();
  const { t } = await runUnder(p, nativeProgram('print-env'), ['--wait']);
  const v = verifyEnvironment(t.pid, p);
  assert.equal(v.applied, false);
  assert.match(v.notAppliedReason!, /does not use libstdc\+\+/);
  assert.ok(readFileSync(`/proc/${t.pid}/environ`, 'utf8').split('\0').includes('GLIBCXX_FORCE_NEW=1'));
  await t.stop();
});

test('a wrong library path fails silently in ld.so; verification says not applied and why', async () => {
  const missing = { ...profile('jemalloc'), id: 'broken', preload: path.join(tmp, 'nowhere', 'libjemalloc.so.2') };
  const { t, dir } = await runUnder(missing, nativeProgram('print-env'), ['--wait']);
  const v = verifyEnvironment(t.pid, missing);
  assert.equal(v.applied, false);
  assert.match(v.notAppliedReason!, /does not exist.*runs on glibc malloc/);
  assert.equal(v.mappedAllocator, null);
  await t.stop();
  assert.match(readFileSync(path.join(dir, 'err'), 'utf8'), /cannot be preloaded/);
  // A file that exists but ld.so cannot load.
  const junk = path.join(tmp, 'libjunk.so');
  writeFileSync(junk, 'junk');
  const junkProfile = { ...missing, id: 'junk', preload: junk };
  const { t: t2 } = await runUnder(junkProfile, nativeProgram('print-env'), ['--wait']);
  const v2 = verifyEnvironment(t2.pid, junkProfile);
  assert.equal(v2.applied, false);
  assert.match(v2.notAppliedReason!, /in LD_PRELOAD but not mapped/);
  await t2.stop();
});

test('env-only profiles are verified through /proc/PID/environ', async () => {
  const arena = profile('glibc-arena-2');
  const { t } = await runUnder(arena, nativeProgram('print-env'), ['--wait']);
  const v = verifyEnvironment(t.pid, arena);
  assert.equal(v.applied, true, v.notAppliedReason);
  assert.equal(v.mappedAllocator, null);
  assert.ok(v.mappedLibraries.some((l) => /libc\.so\.6$/.test(l)));
  // The variable of another profile is not there.
  const trim = verifyEnvironment(t.pid, profile('glibc-trim'));
  assert.equal(trim.applied, false);
  assert.match(trim.notAppliedReason!, /MALLOC_TRIM_THRESHOLD_=131072 is missing/);
  await t.stop();
  // A target that overrides the variable itself (set after composition, as a wrapper would).
  const { t: t2 } = await runUnder(profile('glibc'), nativeProgram('print-env'), ['--wait'], { targetEnv: { MALLOC_ARENA_MAX: '4' } });
  const v2 = verifyEnvironment(t2.pid, arena);
  assert.equal(v2.applied, false);
  assert.match(v2.notAppliedReason!, /it has MALLOC_ARENA_MAX=4/);
  await t2.stop();
});

test('a static binary: inspect, preflight and verification all say LD_PRELOAD cannot work', async () => {
  const bin = nativeProgram('static-hello');
  const info = inspectBinary(bin);
  assert.equal(info.isStatic, true);
  assert.equal(info.linkedAllocator, null);
  assert.equal(inspectBinary(nativeProgram('sleeper')).isStatic, false);
  const je = profile('jemalloc');
  assert.match(preflight(je, info)!, /statically linked/);
  assert.equal(preflight(profile('glibc-arena-2'), info), null, 'static glibc still reads its tunables');
  const { t } = await runUnder(je, bin, [], { ready: '^hello' });
  const v = verifyEnvironment(t.pid, je, info);
  assert.equal(v.applied, false);
  assert.match(v.notAppliedReason!, /statically linked/);
  assert.deepEqual(v.mappedLibraries, []);
  await t.stop();
});

test('a binary with its own allocator: DT_NEEDED and static symbols are recognised; a preload beside it is reported', async () => {
  const dyn = inspectBinary(nativeProgram('own-jemalloc'));
  assert.equal(dyn.linkedAllocator, 'jemalloc (DT_NEEDED libjemalloc.so.2)');
  const stat = inspectBinary(nativeProgram('own-jemalloc-static'));
  assert.equal(stat.linkedAllocator, 'jemalloc (static symbols)');
  assert.equal(inspectBinary(nativeProgram('alloc-known')).linkedAllocator, null);
  const mi = profile('mimalloc');
  assert.match(preflight(mi, dyn)!, /links its own allocator, jemalloc/);
  assert.equal(preflight(profile('jemalloc'), dyn), null);
  assert.match(preflight(profile('glibc-arena-2'), stat)!, /does not run on glibc malloc/);

  const { t } = await runUnder(mi, nativeProgram('own-jemalloc'), []);
  const v = verifyEnvironment(t.pid, mi, dyn);
  assert.equal(v.applied, false);
  assert.match(v.notAppliedReason!, /mapped, but may not be the one allocating/);
  // libmimalloc.so.2 is a symlink: the maps name the file it points to (libmimalloc.so.2.0).
  assert.ok(v.mappedLibraries.some((l) => /libmimalloc\.so/.test(l)), v.mappedLibraries.join(' '));
  assert.match(v.mappedAllocator!, /libmimalloc\.so/);
  assert.ok(v.mappedLibraries.some((l) => l.endsWith('libjemalloc.so.2')));
  await t.stop();

  const { t: t2 } = await runUnder(profile('glibc'), nativeProgram('own-jemalloc-static'), []);
  const v2 = verifyEnvironment(t2.pid, profile('glibc'));
  assert.equal(v2.applied, false);
  assert.equal(v2.mappedAllocator, nativeProgram('own-jemalloc-static'));
  await t2.stop();
});

test('a setuid binary of another user, run by root: ld.so secure mode drops LD_PRELOAD', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to create the user and the setuid copy');
  if (spawnSync('id', ['-u', 'alloclabtest']).status !== 0) {
    const r = spawnSync('useradd', ['-M', 'alloclabtest']);
    assert.equal(r.status, 0, String(r.stderr));
  }
  const uid = Number(spawnSync('id', ['-u', 'alloclabtest'], { encoding: 'utf8' }).stdout.trim());
  const dir = mkdtempSync(path.join(tmp, 'suid-'));
  chmodSync(dir, 0o755);
  const bin = path.join(dir, 'print-env-suid');
  copyFileSync(nativeProgram('print-env'), bin);
  chownSync(bin, uid, 0);
  chmodSync(bin, 0o4755);
  const info = inspectBinary(bin);
  assert.equal(info.setuidOwner, uid);
  const je = profile('jemalloc');
  assert.match(preflight(je, info)!, /setuid/);
  const { t: target } = await runUnder(je, bin, ['--wait']);
  const status = readFileSync(`/proc/${target.pid}/status`, 'utf8');
  assert.match(status, new RegExp(`^Uid:\\s+0\\s+${uid}`, 'm'), 'the kernel honoured the setuid bit');
  const v = verifyEnvironment(target.pid, je, info);
  assert.equal(v.applied, false);
  assert.match(v.notAppliedReason!, /secure-execution mode ignored LD_PRELOAD/);
  assert.ok(!v.mappedLibraries.some((l) => l.includes('jemalloc')));
  await target.stop();
});

test('verifying a process that is gone says so', async () => {
  const { t } = await runUnder(profile('glibc'), nativeProgram('print-env'), ['--wait']);
  const pid = t.pid;
  await t.stop();
  const v = verifyEnvironment(pid, profile('glibc'));
  assert.equal(v.applied, false);
  assert.match(v.notAppliedReason!, /exited before it could be verified/);
});
