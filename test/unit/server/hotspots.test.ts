// The server side of hotspots in the editor: lenses and hovers computed from recorded profiles (the fixtures of
// native/proftest/sites.c) for a workspace folder; mapping, 0-based lines, ranking switches, stale clearing, diffs,
// and a real profile run through RunHost.
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clearPathMapCache, formatCount, openProfile, type AllocationProfile } from '../../../src/core/profilers';
import type { HotspotSettings, RunFinishedParams } from '../../../src/protocol/lsp';
import { backendForRun, describeBackends, HotspotService, uriToPath } from '../../../src/server/hotspots';
import { Commands } from '../../../src/vscode/constants';
import { RunHost } from '../../../src/server/runHost';
import { fixtureFromElsewhere, fixturesDir, markerLine, proftestDir } from '../profilers/helpers';
import { nativeProgram } from '../support/paths';

let heaptrack = '';
const massif = path.join(fixturesDir, 'massif.out.sites');
const sitesC = path.join(proftestDir, 'sites.c');
const LEAK = markerLine('sites.c', 'leak');
const CHURN = markerLine('sites.c', 'churn');

const temps: string[] = [];
function tempDir(label: string): string {
  const d = mkdtempSync(path.join(tmpdir(), `alloclab-hot-${label}-`));
  temps.push(d);
  return d;
}
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});
before(async () => {
  // Named like the fixture: a profile is labelled by its folder.
  const dir = path.join(tempDir('fixture'), 'heaptrack.sites.zst');
  mkdirSync(dir);
  heaptrack = await fixtureFromElsewhere('heaptrack.sites.zst', dir);
});

function settings(roots: string[], extra: Partial<HotspotSettings> = {}): HotspotSettings {
  clearPathMapCache();
  return { sourceFileMap: {}, workspaceRoots: roots, top: 20, ...extra };
}

describe('HotspotService lenses and hovers', () => {
  it('puts a lens with the backend\'s figures on the leaking line of sites.c (0-based)', async () => {
    const svc = new HotspotService();
    const state = await svc.activate(heaptrack, settings([proftestDir]));
    assert.equal(state.ranking, 'growth');
    assert.equal(state.hotspots[0].line, LEAK);
    assert.equal(state.hotspots[0].workspaceFile, sitesC);
    const lenses = svc.codeLenses(sitesC);
    assert.ok(lenses.length >= 1);
    const top = lenses.find((l) => l.range.start.line === LEAK - 1);
    assert.ok(top, `a lens on line ${LEAK - 1} (0-based); got ${lenses.map((l) => l.range.start.line).join(',')}`);
    const title = top.command!.title;
    // heaptrack supports every figure: growth, calls, peak, leaked.
    // heaptrack cannot tell a leak from a block kept to the end: it says what was not freed at exit.
    assert.match(title, /^Allocator Lab #1: \+[\d.]+ MiB\/min · [\d.]+k? allocs · [\d.]+ MiB at peak · [\d.]+ MiB not freed at exit$/);
    assert.doesNotMatch(title, /leaked/);
    // The lens runs the command the extension registers (not a copy of its id).
    assert.equal(top.command!.command, Commands.RevealHotspot);
    assert.deepEqual(top.command!.arguments, [1]);
    // The shrinking cache is not a growth hotspot: no lens on it.
    assert.ok(!lenses.some((l) => l.range.start.line === markerLine('sites.c', 'cache') - 1));
    // Another file of the workspace has none.
    assert.deepEqual(svc.codeLenses(path.join(proftestDir, 'sites_cpp.cpp')), []);
  });

  it('hover shows the full stack and the figures per environment; nothing on other lines', async () => {
    const svc = new HotspotService();
    await svc.activate(heaptrack, settings([proftestDir]));
    const h = svc.hover(sitesC, LEAK - 1);
    assert.ok(h);
    const md = (h.contents as { value: string }).value;
    assert.match(md, /hotspot #1/);
    assert.match(md, /\*\*→\*\* 0\. \[leak\\_step \(\/[^)]*sites\.c:\d+\)\]\(file:\/\/\/[^)]*sites\.c#L\d+\)/);
    assert.match(md, /1\. \[main /);
    assert.match(md, /libc\\_start\\_main.*\*\(library\)\*/);
    assert.match(md, /\| heaptrack\.sites\.zst \| \+[\d.]+ MiB\/min/);
    assert.equal(svc.hover(sitesC, LEAK), null);
  });

  it('hover of a sampled profile gives each site\'s allocated bytes with its 1-sigma error; exact backends show none', async () => {
    const dir = tempDir('sampled');
    const MiB = 1048576;
    const site = (id: string, line: number, allocated: number, error: number) => ({
      id, frames: [{ function: 'leak_step', file: sitesC, line, module: null, address: '0x10' }], userFrame: 0,
      liveBytes: [0, allocated], peakBytes: allocated, allocations: 1000, allocatedBytes: allocated, leakedBytes: allocated,
      bytesError: error, belowResolution: error > 0.5 * allocated, samples: 40,
    });
    const profile: AllocationProfile = {
      schemaVersion: 1, backend: 'probe-sampled', capabilities: { growth: true, peak: true, calls: true, leaked: true },
      snapshots: [{ t: 0 }, { t: 60_000 }], sampled: true, warnings: [], sources: [],
      sites: [site('a', LEAK, 12.3 * MiB, 0.4 * MiB), site('b', CHURN, 2 * MiB, 40 * 1024)],
    };
    const file = path.join(dir, 'profile.json');
    writeFileSync(file, JSON.stringify(profile));
    const svc = new HotspotService();
    await svc.activate(file, settings([proftestDir]), 'peak');
    const md = (svc.hover(sitesC, LEAK - 1)!.contents as { value: string }).value;
    assert.match(md, /^\| alloclab-hot-sampled-\w+ \| .*~12\.3 MiB ± 0\.4 MiB allocated \(1σ\) \|$/m);
    // A small error is in KiB, never "± 0.0 MiB".
    assert.match((svc.hover(sitesC, CHURN - 1)!.contents as { value: string }).value, /~2\.0 MiB ± 40 KiB allocated/);
    // The lens (and so the Hotspots view, which shows the same figures) carries the error too, once.
    const lens = svc.codeLenses(sitesC).find((l) => l.range.start.line === LEAK - 1)!.command!.title;
    assert.match(lens, /· ~12\.3 MiB ± 0\.4 MiB allocated \(1σ\)$/);
    assert.equal(md.match(/±/g)?.length, 1, md);
    // heaptrack counts every allocation: no error to show.
    await svc.activate(heaptrack, settings([proftestDir]));
    assert.doesNotMatch((svc.hover(sitesC, LEAK - 1)!.contents as { value: string }).value, /±/);
  });

  it('ranking by calls moves the top lens to the churn line; massif has no calls (disabled with a reason)', async () => {
    const svc = new HotspotService();
    await svc.activate(heaptrack, settings([proftestDir]));
    const s = svc.setOptions({ ranking: 'calls' });
    assert.equal(s?.ranking, 'calls');
    assert.equal(s?.hotspots[0].line, CHURN);
    assert.ok(svc.codeLenses(sitesC).some((l) => l.range.start.line === CHURN - 1 && /#1:/.test(l.command!.title)));

    const m = await svc.activate(massif, settings([proftestDir]), 'calls');
    assert.notEqual(m.ranking, 'calls', 'an unsupported ranking falls back');
    const calls = m.rankings.find((r) => r.id === 'calls')!;
    assert.equal(calls.supported, false);
    assert.match(calls.reason ?? '', /massif.*heaptrack/);
  });

  it('maps base names (massif) by suffix into the workspace, and says when paths are not local', async () => {
    const ws = tempDir('ws');
    mkdirSync(path.join(ws, 'src'));
    copyFileSync(sitesC, path.join(ws, 'src', 'sites.c'));
    const svc = new HotspotService();
    await svc.activate(massif, settings([ws]));
    const lenses = svc.codeLenses(path.join(ws, 'src', 'sites.c'));
    const leak = lenses.find((l) => l.range.start.line === LEAK - 1);
    assert.ok(leak, 'massif base name sites.c mapped to src/sites.c');
    assert.doesNotMatch(leak.command!.title, /allocs|leaked|not freed/, 'massif records neither counts nor what is left at exit');
    assert.match(leak.command!.title, /MiB\/min · [\d.]+ MiB at peak$/);

    // A profile from another machine (its paths do not exist here): sites shown unlinked, with the sourceFileMap hint.
    const empty = tempDir('empty');
    const foreign = path.join(empty, 'foreign.json');
    const elsewhere = '/build/other-machine/proftest';
    const recorded = await openProfile(heaptrack);
    writeFileSync(foreign, JSON.stringify(movedTo(recorded, recordedDir(recorded), elsewhere)));
    const unlinked = await svc.activate(foreign, settings([empty]));
    assert.equal(unlinked.hotspots[0].workspaceFile, null);
    assert.ok(unlinked.warnings.some((w) => /sourceFileMap/.test(w)), unlinked.warnings.join('\n'));
    assert.deepEqual(svc.codeLenses(sitesC), [], 'nothing outside the workspace');

    // Recorded here, outside the workspace folders: the file exists at its own path, so it is linked. (The fixture
    // was recorded in another checkout: rebase it onto this one.)
    const hereFile = path.join(empty, 'here.json');
    writeFileSync(hereFile, JSON.stringify(movedTo(recorded, recordedDir(recorded), proftestDir)));
    const here = await svc.activate(hereFile, settings([empty]));
    assert.equal(here.hotspots[0].workspaceFile, sitesC);

    // sourceFileMap: the recording machine's folder -> a local checkout.
    const local = tempDir('checkout');
    copyFileSync(sitesC, path.join(local, 'sites.c'));
    const mapped = await svc.activate(foreign, settings([empty], { sourceFileMap: { [elsewhere]: local } }));
    assert.equal(mapped.hotspots[0].workspaceFile, path.join(local, 'sites.c'));
    assert.ok(svc.codeLenses(path.join(local, 'sites.c')).some((l) => l.range.start.line === LEAK - 1));
  });

  it('switching or clearing the active profile notifies (refresh) and leaves no stale lens', async () => {
    let changes = 0;
    const svc = new HotspotService(() => changes++);
    await svc.activate(heaptrack, settings([proftestDir]));
    assert.equal(changes, 1);
    const before = svc.codeLenses(sitesC).map((l) => l.command!.title);
    assert.ok(before.some((t) => /allocs/.test(t)));
    await svc.activate(massif, settings([proftestDir]));
    assert.equal(changes, 2);
    const afterSwitch = svc.codeLenses(sitesC).map((l) => l.command!.title);
    assert.ok(afterSwitch.length > 0);
    assert.ok(afterSwitch.every((t) => !/allocs/.test(t)), `stale heaptrack lens after switching: ${afterSwitch.join(' | ')}`);
    svc.clear();
    assert.equal(changes, 3);
    assert.deepEqual(svc.codeLenses(sitesC), []);
    assert.equal(svc.hover(sitesC, LEAK - 1), null);
    assert.equal(svc.state(), null);
    svc.clear();
    assert.equal(changes, 3, 'clearing nothing sends no refresh');
  });

  it('a run folder with several environments: ranked on the first, every environment in the hover', async () => {
    const run = tempDir('run');
    const p = await openProfile(heaptrack);
    for (const [env, scale] of [['1-glibc', 1], ['2-jemalloc', 0.5]] as const) {
      mkdirSync(path.join(run, env));
      writeFileSync(path.join(run, env, 'profile.json'), JSON.stringify(scaled(p, scale)));
    }
    const svc = new HotspotService();
    const state = await svc.activate(run, settings([proftestDir]));
    assert.deepEqual(state.environments, ['1-glibc', '2-jemalloc']);
    const md = (svc.hover(sitesC, LEAK - 1)!.contents as { value: string }).value;
    assert.match(md, /\| 1-glibc \|/);
    assert.match(md, /\| 2-jemalloc \|/);
  });

  it('diff of two profiles: which sites grew, lens says by how much since the baseline', async () => {
    const dir = tempDir('diff');
    const p = await openProfile(heaptrack);
    writeFileSync(path.join(dir, 'before.json'), JSON.stringify(scaled(p, 0.25, 'leak_step')));
    writeFileSync(path.join(dir, 'after.json'), JSON.stringify(p));
    const svc = new HotspotService();
    const d = await svc.diff(path.join(dir, 'before.json'), path.join(dir, 'after.json'), settings([proftestDir]));
    assert.equal(d.ranking, 'peak');
    assert.equal(d.baseline, 'before.json');
    assert.equal(d.hotspots[0].line, LEAK);
    assert.ok(d.hotspots[0].value > 0);
    assert.ok((d.hotspots[0].after ?? 0) > (d.hotspots[0].before ?? 0));
    const lens = svc.codeLenses(sitesC).find((l) => l.range.start.line === LEAK - 1);
    assert.match(lens?.command?.title ?? '', /^Allocator Lab #1: peak \+[\d.]+ MiB \([\d.]+ MiB → [\d.]+ MiB\) since before\.json$/);
  });

  it('a binary without debug info: sites by function or address and a hint to build with -g', async () => {
    const p = await openProfile(heaptrack);
    const stripped: AllocationProfile = { ...p, sites: p.sites.map((s) => ({ ...s, frames: s.frames.map((f) => ({ ...f, file: null, line: null })) })) };
    const dir = tempDir('nodebug');
    writeFileSync(path.join(dir, 'profile.json'), JSON.stringify(stripped));
    const svc = new HotspotService();
    const s = await svc.activate(path.join(dir, 'profile.json'), settings([proftestDir]));
    assert.equal(s.hotspots[0].function, 'leak_step');
    assert.ok(s.warnings.some((w) => /-g/.test(w)), s.warnings.join('\n'));
    assert.deepEqual(svc.codeLenses(sitesC), []);
  });

  it('reports a missing path as a user error', async () => {
    await assert.rejects(new HotspotService().activate('/nonexistent/profile', settings([proftestDir])), /does not exist/);
  });

  it('formats counts and file URIs', () => {
    assert.equal(formatCount(950), '950');
    assert.equal(formatCount(1234), '1.2k');
    assert.equal(formatCount(1_234_567), '1.2M');
    assert.equal(uriToPath('file:///work/a%20b/x.c'), '/work/a b/x.c');
    assert.equal(uriToPath('untitled:Untitled-1'), null);
  });
});

describe('profile runs through RunHost', () => {
  it('profiles proftest-sites with jemalloc-prof: the leaking line is the top hotspot', async () => {
    const runsDir = tempDir('runs');
    const finished = new Promise<RunFinishedParams>((resolve) => {
      const noop = () => undefined;
      const host = new RunHost({ runStarted: noop, progress: noop, samples: noop, event: noop, environmentStarted: noop, environmentFinished: noop, runFinished: resolve });
      host.start({
        runId: 'p1', runsDir,
        target: { kind: 'profile', backend: 'jemalloc-prof', command: nativeProgram('proftest-sites'), args: [], durationMs: 3000, lgProfInterval: 20 },
      });
    });
    const f = await finished;
    assert.equal(f.error, null, f.error?.message);
    assert.ok(f.runDir);
    assert.equal(f.record?.kind, 'profile');
    const svc = new HotspotService();
    const s = await svc.activate(f.runDir, settings([proftestDir]));
    assert.equal(s.backend, 'jemalloc-prof');
    assert.equal(s.hotspots[0].line, LEAK, `top: ${s.hotspots[0].function} ${s.hotspots[0].file}:${s.hotspots[0].line}`);
    assert.ok(svc.codeLenses(sitesC).some((l) => l.range.start.line === LEAK - 1 && /~[\d.]+ MiB at peak/.test(l.command!.title)));
  });

  it('a real binary without debug info (proftest-sites-nodebug): sites by function, hint to build with -g, no lens', async () => {
    const runsDir = tempDir('runs-nodebug');
    const f = await new Promise<RunFinishedParams>((resolve) => {
      const noop = () => undefined;
      new RunHost({ runStarted: noop, progress: noop, samples: noop, event: noop, environmentStarted: noop, environmentFinished: noop, runFinished: resolve })
        .start({ runId: 'nd', runsDir, target: { kind: 'profile', backend: 'jemalloc-prof', command: nativeProgram('proftest-sites-nodebug'), durationMs: 3000, lgProfInterval: 20 } });
    });
    assert.equal(f.error, null, f.error?.message);
    const svc = new HotspotService();
    const s = await svc.activate(f.runDir!, settings([proftestDir]));
    assert.ok(s.hotspots.length > 0);
    assert.ok(s.hotspots.every((h) => h.line == null), 'no file:line without debug info');
    assert.ok(s.hotspots.some((h) => h.function === 'leak_step' || h.address), 'named by function (symbol table) or address');
    assert.ok(s.warnings.some((w) => /rebuild with -g/.test(w)), s.warnings.join('\n'));
    assert.deepEqual(svc.codeLenses(sitesC), []);
  });

  it('a backend that is not installed is refused with the Debian package to install', () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      assert.throws(() => backendForRun('heaptrack'), /not available: heaptrack is not installed\. Install it with `apt-get install heaptrack`/);
      const listed = describeBackends().find((b) => b.id === 'massif');
      assert.equal(listed?.available, false);
      assert.equal(listed?.debianPackage, 'valgrind');
    } finally {
      process.env.PATH = saved;
    }
    assert.equal(describeBackends().find((b) => b.id === 'heaptrack')?.available, true, 'heaptrack is installed here');
    assert.throws(() => backendForRun('nope'), /Unknown attribution backend "nope"/);
  });

  it('refuses a backend that does not apply (static binary under a preload backend) with a user error', async () => {
    const runsDir = tempDir('runs-static');
    const f = await new Promise<RunFinishedParams>((resolve) => {
      const noop = () => undefined;
      new RunHost({ runStarted: noop, progress: noop, samples: noop, event: noop, environmentStarted: noop, environmentFinished: noop, runFinished: resolve })
        .start({ runId: 'p2', runsDir, target: { kind: 'profile', backend: 'jemalloc-prof', command: nativeProgram('proftest-sites-static'), durationMs: 1000 } });
    });
    assert.ok(f.error);
    assert.equal(f.error.userError, true);
    assert.match(f.error.message, /statically linked.*massif/);
  });
});

/** A copy of the profile as if recorded with the sources in another folder. */
/** The folder the fixture's sites.c was compiled in, on the machine that recorded it. */
function recordedDir(p: AllocationProfile): string {
  const file = p.sites.flatMap((s) => s.frames).find((f) => f.file?.endsWith('/sites.c'))?.file;
  assert.ok(file, 'the fixture names sites.c with its folder');
  return path.dirname(file);
}

function movedTo(p: AllocationProfile, from: string, to: string): AllocationProfile {
  return { ...p, sites: p.sites.map((s) => ({ ...s, frames: s.frames.map((f) => ({ ...f, file: f.file?.startsWith(from + '/') ? to + f.file.slice(from.length) : f.file })) })) };
}

/** A copy of the profile with live, peak and leaked bytes scaled (of one function's sites, or all). */
function scaled(p: AllocationProfile, k: number, fn?: string): AllocationProfile {
  return {
    ...p,
    sites: p.sites.map((s) => {
      if (fn && s.frames[s.userFrame]?.function !== fn) return s;
      return { ...s, liveBytes: s.liveBytes.map((b) => Math.round(b * k)), peakBytes: Math.round(s.peakBytes * k), leakedBytes: s.leakedBytes == null ? null : Math.round(s.leakedBytes * k) };
    }),
  };
}
