// How the ledger knows glibc's held memory: each method's cost inside the target and its error, on a program with
// known free memory (native/probetest/ledgertest, 8 threads flat out) and on the demo service's fixed work.
//
//   npm run build && npm run bench -- ledger [--seconds N] [--write]   (--write: section "Ledger" of bench/RESULTS.md)
//
// Methods (all published by the probe's thread, native/probe/figures.c):
//   map          resident pages of glibc's heaps from /proc/self/smaps minus the live blocks and their headers
//                (no allocator lock: what the ledger uses, 4 times a second)
//   arena list   the arenas' system_mem read from glibc's private structures minus the same (no lock, a few words
//                per arena; counts pages never touched or given back by malloc_trim as held)
//   mallinfo2    glibc's own walk of every free list under each arena's lock: exact free bytes, but it stalls the
//                threads that wait for those locks; the ledger keeps it as a cross-check every 10 s, and an
//                answer 10 s old is the error it would carry as the current figure
// Reference: on ledgertest, the program's own mallinfo2 (truth line) at the nearest instant; on the demo, the
// probe's mallinfo2 in the same publication (asked for at every round here with ALLOCLAB_PROBE_MALLINFO_MS).
// Errors are |method - reference| as a share of RSS; costs are CPU time of the probe's thread per reading.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { probeEnvironment, readProbe, type ProbeReading } from '../src/core/ledger';
import { packageRoot } from '../src/core/workers';

interface Pub { atNs: bigint; rss: number; r: ProbeReading; truthFree?: number }

function rssOf(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096;
  } catch {
    return 0;
  }
}

/** Runs `argv` under the probe, collecting every publication (and the program's truth lines, if it prints any). */
async function collect(argv: string[], seconds: number, scratch: string, env: Record<string, string>): Promise<{ pubs: Pub[]; truth: { ns: bigint; free: number }[] }> {
  const shm = path.join(scratch, `b${process.hrtime.bigint()}.probe`);
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env, ...probeEnvironment(shm) }, stdio: ['ignore', 'pipe', 'ignore'], detached: true });
  const truth: { ns: bigint; free: number }[] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      const f = l.split(' ');
      if (f[0] === 'truth') truth.push({ ns: BigInt(f[1]), free: Number(f[f.indexOf('free') + 1]) });
    }
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const pubs: Pub[] = [];
  let last = -1;
  const end = Date.now() + seconds * 1000;
  let gone = false;
  void exited.then(() => (gone = true));
  while (!gone && Date.now() < end) {
    const r = readProbe(shm);
    if (r?.stats && r.stats.publications !== last) {
      last = r.stats.publications;
      pubs.push({ atNs: process.hrtime.bigint() - BigInt(Math.round(r.stats.ageMs * 1e6)), rss: rssOf(child.pid!), r });
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    /* gone */
  }
  await exited;
  rmSync(shm, { force: true });
  return { pubs, truth };
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

interface MethodRow { workload: string; method: string; costUs: number[]; errors: number[]; note: string }

function analyse(workload: string, pubs: Pub[], truth: { ns: bigint; free: number }[]): MethodRow[] {
  const map: MethodRow = { workload, method: 'map (smaps heaps - live - headers)', costUs: [], errors: [], note: 'every 250 ms, no lock' };
  const arena: MethodRow = { workload, method: 'arena list (system_mem - live - headers)', costUs: [], errors: [], note: 'every 250 ms, no lock' };
  const mi: MethodRow = { workload, method: 'mallinfo2, 10 s old', costUs: [], errors: [], note: 'walks every free list under the arena locks' };
  const over: MethodRow = { workload, method: 'mallinfo2 of the same instant: free bytes not resident', costUs: [], errors: [], note: 'live + free chunks beyond the resident heap: pages never touched, or given back' };
  const fresh: { ns: bigint; free: number }[] = [];
  // ledgertest: from its first truth line on (before it, the program is still building its heap).
  const from = truth.length ? truth[0].ns : 0n;
  for (const p of pubs) {
    if (p.atNs < from) continue;
    const s = p.r.stats!;
    const m = s.map, g = s.glibc;
    if (!m || !g || m.heapBytes === undefined) continue;
    const heapLive = (m.liveBytes ?? 0) - (m.directUsableBytes ?? 0);
    const headers = 8 * ((m.liveBlocks ?? 0) - (m.directBlocks ?? 0));
    const heldMap = m.heapBytes - heapLive - headers;
    const heldArena = (g.systemBytes ?? NaN) - heapLive - headers;
    map.costUs.push((m.costNs ?? NaN) / 1000);
    // The probe's mallinfo2 of this very round (asked for every round): the reference on the demo.
    const sameRound = g.mallinfoAtNs !== undefined && Math.abs(Number(BigInt(g.mallinfoAtNs) - p.atNs)) < 100e6;
    if (sameRound) {
      mi.costUs.push((g.mallinfoCostNs ?? NaN) / 1000);
      fresh.push({ ns: BigInt(g.mallinfoAtNs!), free: g.freeBytes! });
      if (p.rss) over.errors.push(Math.max(0, heapLive + headers + g.freeBytes! - m.heapBytes) / p.rss);
    }
    const otherCost = (s.collectionCostUs ?? NaN) - (m.costNs ?? 0) / 1000 - (sameRound ? (g.mallinfoCostNs ?? 0) / 1000 : 0);
    arena.costUs.push(Math.max(0, otherCost));
    let ref: number | undefined;
    if (truth.length) {
      const near = truth.reduce((a, b) => (abs(b.ns - p.atNs) < abs(a.ns - p.atNs) ? b : a));
      if (abs(near.ns - p.atNs) < 300_000_000n) ref = near.free;
    } else if (sameRound) ref = g.freeBytes;
    if (ref === undefined || !p.rss) continue;
    map.errors.push(Math.abs(heldMap - ref) / p.rss);
    if (Number.isFinite(heldArena)) arena.errors.push(Math.abs(heldArena - ref) / p.rss);
    // What a 10 s old mallinfo2 would have said.
    const old = [...fresh, ...truth].filter((x) => x.ns <= p.atNs - 10_000_000_000n).sort((a, b) => (a.ns < b.ns ? 1 : -1))[0];
    if (old) mi.errors.push(Math.abs(old.free - ref) / p.rss);
  }
  return truth.length ? [map, arena, mi] : [map, arena, mi, over];
}

function abs(x: bigint): bigint {
  return x < 0n ? -x : x;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seconds = Number(args[args.indexOf('--seconds') + 1]) || 25;
  const build = path.join(packageRoot(), 'native', 'build');
  const scratch = mkdtempSync(path.join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'alloclab-ledger-bench-'));
  const rows: MethodRow[] = [];
  try {
    const lt = await collect([path.join(build, 'ledgertest'), '8', String(seconds + 5)], seconds, scratch, { ALLOCLAB_PROBE_MALLINFO_MS: '1' });
    rows.push(...analyse('ledgertest: 8 threads churning, 64 MiB free in holes', lt.pubs, lt.truth));
    const demo = await collect([path.join(build, 'demo-controller'), '--work', '1000000', '--threads', '8', '--cache-mb', '64'], seconds, scratch, { ALLOCLAB_PROBE_MALLINFO_MS: '1' });
    rows.push(...analyse('demo-controller --work, 8 threads, 64 MiB cache', demo.pubs, []));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');
  const out: string[] = ['## Ledger', ''];
  out.push(
    `Generated by \`bench/ledger.ts\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}, ` +
    `${seconds} s per workload. How the ledger knows glibc's free-but-resident memory without walking free lists on the hot path. ` +
    'Cost: CPU time of the probe\'s thread per reading (median / max). Error: |method - reference| / RSS over every publication ' +
    '(median / max); reference: the program\'s own mallinfo2 at the nearest instant (ledgertest), or the probe\'s mallinfo2 of the same ' +
    'round (demo, asked for every round with ALLOCLAB_PROBE_MALLINFO_MS=1). "mallinfo2, 10 s old": the error a figure from the ' +
    'cross-check, which runs every 10 s, would carry if shown as current; its cost is paid under the arena locks, stalling the threads ' +
    'that allocate meanwhile. On the demo the reference itself is not the resident truth: mallinfo2 counts free chunks whose ' +
    'pages were never touched (tops of heaps grown by mprotect) or were given back, so live + free there exceeds the ' +
    'resident heap (last row): part of the difference is mallinfo2\'s, not the map\'s. On ledgertest every byte is touched ' +
    'and the reference is exact. The ledger uses the map method; the arena list gives the arena count and top chunks.',
  );
  out.push('');
  out.push('| workload | method | readings | cost per reading (median / max) | difference from the reference, share of RSS (median / max) | how |');
  out.push('|---|---|---|---|---|---|');
  for (const r of rows) {
    const cost = r.costUs.length ? `${f(quantile(r.costUs, 0.5) / 1000)} / ${f(Math.max(...r.costUs) / 1000)} ms` : '-';
    out.push(`| ${r.workload} | ${r.method} | ${r.costUs.length || r.errors.length} | ${cost} | ` +
      `${r.errors.length ? `${f(quantile(r.errors, 0.5) * 100)} % / ${f(Math.max(...r.errors) * 100)} %` : '-'} | ${r.note} |`);
  }
  const table = out.join('\n');
  console.log(table);
  if (args.includes('--write')) {
    const file = path.join(packageRoot(), 'bench', 'RESULTS.md');
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
    const re = /^## Ledger\n[\s\S]*?(?=^## |(?![\s\S]))/m;
    writeFileSync(file, re.test(old) ? old.replace(re, table + '\n') : old.replace(/\n*$/, '\n\n') + table + '\n');
    console.log(`wrote ${file}`);
  }
}

void main();
