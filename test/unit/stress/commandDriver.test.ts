// External load drivers: real processes (node, sleep, wrk) in their own process groups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AlloclabError } from '../../../src/core/errors';
import { commandLoadSchema, driverLogName, parseDriverOutput, runLoad, type CommandLoadSpec } from '../../../src/core/stress';
import { startServer, testContext } from './support';

function spec(fields: Record<string, unknown>): CommandLoadSpec {
  return commandLoadSchema.parse({ driver: 'command', ...fields });
}

/** Pids of live processes whose command line contains `marker`. */
function processesWith(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(marker)) pids.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

test('arguments and environment are substituted; output is saved to driver-<phase>.log', async (t) => {
  let exited = 0;
  const ctx = { ...testContext({ durationMs: 1500, port: 4321, phaseName: 'load#2' }), onDriverExit: () => exited++ };
  t.after(() => ctx.cleanup());
  const script = 'console.log(JSON.stringify({ argv: process.argv.slice(1), x: process.env.X_URL, cwd: process.cwd() }))';
  const s = await runLoad(spec({
    command: process.execPath,
    args: ['-e', script, '${url}', '${port}', '-d', '${duration}s', '${durationMs}', '${unknown}'],
    url: 'http://127.0.0.1:${port}/members',
    env: { X_URL: '${url}?x' },
  }), ctx);
  const log = path.join(ctx.outDir, driverLogName('load#2'));
  assert.ok(existsSync(log), 'no driver log');
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.match(lines[0], /^# .*node/, 'the log starts with the command line');
  const out = JSON.parse(lines[1]) as { argv: string[]; x: string; cwd: string };
  assert.deepEqual(out.argv, ['http://127.0.0.1:4321/members', '4321', '-d', '2s', '1500', '${unknown}']);
  assert.equal(out.x, 'http://127.0.0.1:4321/members?x');
  assert.equal(out.cwd, ctx.baseDir);
  // The driver's exit (its work done) ends the phase: the phase does not idle on under "load".
  assert.equal(exited, 1, 'onDriverExit was not called once');
  assert.ok(s.durationMs < 1500, `the phase lasted its whole duration (${s.durationMs} ms) after the driver exited at once with 0`);
  assert.equal(s.requests, 0);
});

test('a driver still running at phase end is stopped with its whole process group', async (t) => {
  const ctx = testContext({ durationMs: 600 });
  t.after(() => ctx.cleanup());
  const marker = `100.${process.pid}`;
  const started = Date.now();
  // sh starts a background sleep in the same group: it must go too.
  await runLoad(spec({ command: 'sh', args: ['-c', 'sleep "$1" & sleep "$1"', 'sh', marker] }), ctx);
  const took = Date.now() - started;
  assert.ok(took >= 580 && took < 4000, `took ${took} ms`);
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(processesWith(marker), [], 'sleep survived the phase end');
});

test('a driver ignoring SIGINT and SIGTERM is killed', async (t) => {
  const ctx = testContext({ durationMs: 300 });
  t.after(() => ctx.cleanup());
  const marker = `stubborn-${process.pid}`;
  const started = Date.now();
  await runLoad(spec({ command: process.execPath, args: ['-e', "process.on('SIGINT',()=>{});process.on('SIGTERM',()=>{});setInterval(()=>{},1000)", marker] }), ctx);
  assert.ok(Date.now() - started < 5000);
  assert.deepEqual(processesWith(marker), []);
});

test('abort stops an external driver at once', async (t) => {
  const ac = new AbortController();
  const ctx = testContext({ durationMs: 60_000, signal: ac.signal });
  t.after(() => ctx.cleanup());
  const marker = `101.${process.pid}`;
  setTimeout(() => ac.abort(), 200);
  const started = Date.now();
  await runLoad(spec({ command: 'sleep', args: [marker] }), ctx);
  assert.ok(Date.now() - started < 3000);
  assert.deepEqual(processesWith(marker), []);
});

test('a command that does not exist is reported clearly', async (t) => {
  const ctx = testContext({ durationMs: 500 });
  t.after(() => ctx.cleanup());
  await assert.rejects(runLoad(spec({ command: 'alloclab-no-such-driver' }), ctx),
    (e: Error) => e instanceof AlloclabError && e.kind === 'input' && /"alloclab-no-such-driver".*not found on PATH.*Install it/.test(e.message));
  await assert.rejects(runLoad(spec({ command: './bin/nope' }), ctx),
    (e: Error) => e instanceof AlloclabError && e.message.includes(`not found at ${path.join(ctx.baseDir, 'bin/nope')}`));
});

test('a driver failing at once is reported with its output', async (t) => {
  // 10 % of 30 s leaves room for a slow start on a busy machine.
  const ctx = testContext({ durationMs: 30_000 });
  t.after(() => ctx.cleanup());
  const started = Date.now();
  await assert.rejects(runLoad(spec({ command: 'sh', args: ['-c', 'echo "wrk: invalid option -- z" >&2; exit 3'] }), ctx),
    (e: Error) => e instanceof AlloclabError && /exited with code 3 .*before the phase was 10 % through/.test(e.message) && e.message.includes('invalid option -- z'));
  assert.ok(Date.now() - started < 10_000, 'waited for the phase end');
});

test('the URL of a command driver is checked to be loopback', async (t) => {
  const ctx = testContext({ durationMs: 500 });
  t.after(() => ctx.cleanup());
  await assert.rejects(runLoad(spec({ command: 'true', url: 'http://192.0.2.1/' }), ctx), /Refusing to send load to 192\.0\.2\.1/);
});

test('wrk as the driver: its summary becomes the phase statistics', async (t) => {
  if (!existsSync('/usr/bin/wrk')) return t.skip('wrk is not installed (apt-get install wrk)');
  const server = await startServer(undefined, false);
  const ctx = testContext({ durationMs: 1200, port: server.port });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  const s = await runLoad(spec({ command: 'wrk', args: ['-t1', '-c4', '-d', '${duration}s', '--latency', '${url}'], url: 'http://127.0.0.1:${port}/' }), ctx);
  const log = readFileSync(path.join(ctx.outDir, driverLogName('load')), 'utf8');
  assert.match(log, /Requests\/sec/, log);
  assert.ok(s.requests > 100, JSON.stringify(s));
  assert.ok(s.throughputRps > 0 && s.latencyMs && s.latencyMs.p50 <= s.latencyMs.p99, JSON.stringify(s));
});

test('siege and wrk summaries are parsed; unknown output is marked unparsed', () => {
  const siege = `{\t"transactions":\t\t\t        2416,\n\t"availability":\t\t\t      100.00,\n\t"elapsed_time":\t\t\t        1.99,\n\t"transaction_rate":\t\t     1214.07,\n\t"failed_transactions":\t\t           3,\n}`;
  const s = parseDriverOutput(siege, 2000);
  assert.equal(s.requests, 2416);
  assert.equal(s.throughputRps, 1214.07);
  assert.equal(s.errors.other, 3);
  const wrk = `Running 1s test @ http://127.0.0.1:1/\n  Thread Stats   Avg      Stdev     Max   +/- Stdev\n    Latency   250.00us  100.00us   2.50ms   90.00%\n  Latency Distribution\n     50%  200.00us\n     75%  300.00us\n     90%  400.00us\n     99%    1.20ms\n  9000 requests in 1.00s, 1.00MB read\n  Socket errors: connect 1, read 2, write 3, timeout 4\n  Non-2xx or 3xx responses: 5\nRequests/sec:   9000.00\n`;
  const w = parseDriverOutput(wrk, 1000);
  assert.equal(w.requests, 9000);
  assert.deepEqual(w.errors, { status: 5, connect: 1, timeout: 4, other: 5 });
  assert.deepEqual(w.latencyMs, { p50: 0.2, p90: 0.4, p99: 1.2, max: 2.5 });
  assert.equal(s.parsed, true);
  assert.equal(w.parsed, true);
  assert.equal(parseDriverOutput('hello', 10).parsed, false);
});

test('redis-benchmark and memcaslap summaries are parsed: the requests of every test, and the throughput', () => {
  // Trimmed from the real tools (redis-benchmark 7.0 without -q, memcaslap 1.1), progress lines and all.
  const redis = ' \rSET: rps=25004.0 (overall: 25004.0) avg_msec=0.105 (overall: 0.105)\r\n====== SET ======\n  20000 requests completed in 0.75 seconds\n' +
    '  4 parallel clients\n  64 bytes payload\nSummary:\n  throughput summary: 26631.16 requests per second\n  latency summary (msec):\n' +
    '          avg       min       p50       p95       p99       max\n        0.098     0.024     0.079     0.183     0.431     5.327\n' +
    '====== GET ======\n  30000 requests completed in 1.25 seconds\n  4 parallel clients\n';
  const r = parseDriverOutput(redis, 2500);
  assert.equal(r.parsed, true);
  assert.equal(r.requests, 50_000);
  assert.equal(r.throughputRps, 25_000);
  assert.equal(r.latencyMs, undefined);
  const memcaslap = 'servers: 127.0.0.1:16398\nthreads count: 1\nconcurrency: 4\nexecute number: 20000\ncmd_get: 18000\ncmd_set: 2000\n\n' +
    'Run time: 0.3s Ops: 20000 TPS: 57768 Net_rate: 15.2M/s\n';
  const m = parseDriverOutput(memcaslap, 300);
  assert.equal(m.parsed, true);
  assert.equal(m.requests, 20_000);
  assert.equal(m.throughputRps, 57_768);
  // redis-benchmark -q prints rates only: the work done stays unknown, not zero.
  assert.equal(parseDriverOutput('SET: 26702.27 requests per second, p50=0.087 msec\n', 1000).parsed, false);
});
