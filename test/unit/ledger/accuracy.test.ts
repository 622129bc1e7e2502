// The ledger is right at every sample: a program whose memory is known by construction (native/probetest/
// ledgertest.c: live blocks, free chunks across one arena per thread, directly mmapped blocks, thread stacks, its
// own mapping, merged by the kernel with the direct blocks' into one mapping, lazily freed pages) runs 8 threads
// flat out on a 2-core machine while the sampler reads the ledger as a run does; every ledger sample's categories
// must be within 5 % of RSS of the truth printed by the program.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ledgerPoints } from '../../../src/core/analysis/series';
import type { Sample } from '../../../src/core/model';
import { startSampler } from '../../../src/core/sampler';
import { nativeProgram } from '../support/paths';
import { killGroup, startTarget } from './targets';

const MiB = 1024 * 1024;
const TOLERANCE = 0.05;

interface Truth { ns: bigint; live: number; free: number; direct: number; stacks: number; own: number; lazy: number; arenas: number }

function truths(lines: string[]): Truth[] {
  return lines.filter((l) => l.startsWith('truth ')).map((l) => {
    const f = l.split(' ');
    const v = (k: string) => Number(f[f.indexOf(k) + 1]);
    return { ns: BigInt(f[1]), live: v('live'), free: v('free'), direct: v('direct'), stacks: v('stacks'), own: v('own'), lazy: v('lazy'), arenas: v('arenas') };
  });
}

test('glibc under full multithreaded load: every ledger sample within 5 % of RSS of the truth, figures fresh', async () => {
  const threads = 8;
  const t = await startTarget(nativeProgram('ledgertest'), [String(threads), '8']);
  const samples: Sample[] = [];
  try {
    await new Promise((r) => setTimeout(r, 500)); // a publication after "ready"
    const startNs = process.hrtime.bigint();
    const sampler = startSampler({ pid: t.pid, startNs, intervalMs: 50, samplesFile: null, probePath: t.shm });
    sampler.onBatch((b) => samples.push(...b));
    await new Promise((r) => setTimeout(r, 5000));
    await sampler.stop();
    const truth = truths(t.lines);
    assert.ok(truth.length >= 8, `truth lines: ${truth.length}`);
    // Every reading (20 a second); anon between status readings is RSS minus the last file-backed figure, as in a run.
    const ledger = samples.filter((s) => s.liveHeapBytes != null);
    assert.ok(ledger.length >= 50, `ledger samples: ${ledger.length}`);
    // Fresh figures under load: the probe thread publishes every 250 ms while 8 threads keep both cores busy.
    const ages = ledger.map((s) => s.allocatorFiguresAgeMs ?? Infinity).sort((a, b) => a - b);
    assert.ok(ages.at(-1)! <= 1000, `oldest figures ${ages.at(-1)} ms (median ${ages[ages.length >> 1]} ms)`);

    const points = ledgerPoints(samples, { interpolate: true });
    assert.equal(points.length, ledger.length);
    const worst: Record<string, number> = {};
    for (const [k, p] of points.entries()) {
      const at = startNs + BigInt(Math.round(ledger[k].t * 1e6));
      const truthNow = truth.reduce((a, b) => ((b.ns > at ? b.ns - at : at - b.ns) < (a.ns > at ? a.ns - at : at - a.ns) ? b : a));
      const allowed = TOLERANCE * p.rssBytes;
      const check = (name: string, measured: number, expected: number) => {
        const off = Math.abs(measured - expected);
        worst[name] = Math.max(worst[name] ?? 0, off / p.rssBytes);
        assert.ok(off <= allowed, `t=${p.t} ${name}: ledger ${(measured / MiB).toFixed(1)} MiB, truth ${(expected / MiB).toFixed(1)} MiB, RSS ${(p.rssBytes / MiB).toFixed(1)} MiB`);
      };
      assert.notEqual(p.figures, 'unknown');
      check('live heap', p.liveHeapBytes, truthNow.live);
      check('held (free chunks)', p.allocatorHeldBytes, truthNow.free);
      check('direct mmap', p.directMmapBytes, truthNow.direct);
      // The direct blocks share one mapping with the program's own, which starts with its bytes, not a chunk
      // header: found by the probe's record of them, not by walking the map (which missed them).
      assert.ok(Math.abs(p.directMmapBytes - truthNow.direct) <= 0.1 * truthNow.direct,
        `t=${p.t} direct mmap: ledger ${(p.directMmapBytes / MiB).toFixed(2)} MiB, truth ${(truthNow.direct / MiB).toFixed(2)} MiB`);
      check('thread stacks', p.threadStacksBytes, truthNow.stacks);
      check('lazily freed', p.lazyFreeBytes, truthNow.lazy);
      check('other anonymous (own mapping)', p.otherAnonBytes, truthNow.own);
      check('metadata', p.allocatorMetadataBytes, 0);
      check('probe', p.probeOverheadBytes, 0);
    }
    const arenas = samples.map((s) => s.allocatorStats?.figures.arenas).filter((a): a is number => a !== undefined);
    // One arena per thread up to 8 per core, plus the probe thread's own.
    assert.ok(arenas.length && arenas.every((a) => a >= truth[0].arenas && a <= truth[0].arenas + 1), `arenas ${arenas.join(',')} vs ${truth[0].arenas}`);
    console.log(`worst error by category, share of RSS: ${Object.entries(worst).map(([k, v]) => `${k} ${(v * 100).toFixed(2)} %`).join(', ')}`);
  } finally {
    killGroup(t.child);
  }
});
