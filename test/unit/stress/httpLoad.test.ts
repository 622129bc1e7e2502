// The built-in HTTP driver against real node:http servers on 127.0.0.1 (the load runs in its worker thread).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AlloclabError } from '../../../src/core/errors';
import { assertLoopback, httpLoadSchema, runLoad, type HttpLoadSpec } from '../../../src/core/stress';
import { freePort, startServer, testContext } from './support';

/** A spec with the schema's defaults filled in, as the scenario parser would give it. */
function spec(fields: Record<string, unknown>): HttpLoadSpec {
  return httpLoadSchema.parse({ driver: 'http', ...fields });
}

test('closed model: every request answered, throughput consistent with the count', async (t) => {
  const server = await startServer(undefined, false);
  const ctx = testContext({ durationMs: 800 });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  const s = await runLoad(spec({ url: `http://127.0.0.1:\${port}/health`, concurrency: 4 }), { ...ctx, port: server.port });
  // A loaded shared machine can starve the worker; even then a working loop answers dozens.
  assert.ok(s.requests > 20, `only ${s.requests} requests in 0.8 s`);
  assert.deepEqual(s.errors, { status: 0, connect: 0, timeout: 0, other: 0 });
  assert.ok(s.durationMs >= 750 && s.durationMs < 3000, `phase lasted ${s.durationMs} ms`);
  assert.ok(Math.abs(s.throughputRps - (s.requests * 1000) / s.durationMs) < 1e-6 * s.throughputRps + 1e-9);
  assert.ok(s.latencyMs && s.latencyMs.p50 > 0 && s.latencyMs.p50 <= s.latencyMs.p99 && s.latencyMs.p99 <= s.latencyMs.max);
  assert.ok(server.connections() <= 4, `${server.connections()} connections for concurrency 4 with keep-alive`);
});

test('requests bound: stops after exactly N requests, long before the duration', async (t) => {
  const server = await startServer();
  const ctx = testContext({ durationMs: 20_000, requests: 50 });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  const s = await runLoad(spec({ url: `${server.url}/x`, concurrency: 8 }), ctx);
  assert.equal(s.requests, 50);
  assert.equal(server.received.length, 50);
  assert.ok(s.durationMs < 5000, `took ${s.durationMs} ms`);
});

test('open model: sends at the given rate', async (t) => {
  const server = await startServer(undefined, false);
  const ctx = testContext({ durationMs: 1500 });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  const s = await runLoad(spec({ url: `${server.url}/`, rate: 200 }), ctx);
  // The schedule is caught up after a stall, so only a starved worker falls short of 300; none may exceed it.
  assert.ok(s.requests >= 200 && s.requests <= 305, `${s.requests} requests at 200/s for 1.5 s`);
  assert.ok(s.throughputRps > 130 && s.throughputRps < 210, `throughput ${s.throughputRps}`);
  assert.equal(s.errors.status + s.errors.connect + s.errors.timeout + s.errors.other, 0);
});

/** A server that holds every response arriving in [500 ms, 700 ms) after its first request until 700 ms. */
async function stallingServer() {
  let first = 0;
  return startServer((_req, res) => {
    const now = Date.now();
    if (!first) first = now;
    const stallStart = first + 500;
    const stallEnd = first + 700;
    if (now >= stallStart && now < stallEnd) setTimeout(() => res.end('late'), stallEnd - now);
    else res.end('ok');
  }, false);
}

test('open model measures latency from the intended send time (no coordinated omission)', async (t) => {
  const open = await stallingServer();
  const ctx = testContext({ durationMs: 1500 });
  t.after(async () => { ctx.cleanup(); await open.close(); });
  // One connection: the stall holds the only connection, so later sends queue behind it.
  const s = await runLoad(spec({ url: `${open.url}/`, rate: 200, maxInFlight: 1 }), ctx);
  assert.ok(s.latencyMs, 'no latency');
  // ~40 of ~300 requests were due during the stall: p90 and p99 see it, max is the whole stall.
  assert.ok(s.latencyMs.max >= 190, `max ${s.latencyMs.max}`);
  assert.ok(s.latencyMs.p99 >= 150, `p99 ${s.latencyMs.p99} hides the 200 ms stall`);
  // The driver goes on after the stall (a loose bound: on a saturated 2-core machine the rate itself suffers).
  assert.ok(s.requests >= 150, `the driver did not go on after the stall: ${s.requests} requests`);

  // The same stall seen by a closed-model client: one slow request among thousands, p99 stays low.
  const closed = await stallingServer();
  t.after(() => closed.close());
  const c = await runLoad(spec({ url: `${closed.url}/`, concurrency: 1 }), ctx);
  assert.ok(c.latencyMs && c.latencyMs.max >= 150, `closed max ${c.latencyMs?.max}`);
  assert.ok(c.latencyMs.p99 < s.latencyMs.p99 / 2, `closed p99 ${c.latencyMs.p99} vs open ${s.latencyMs.p99}`);
});

test('open model: maxInFlight caps the requests outstanding at the server', async (t) => {
  let inFlight = 0;
  let most = 0;
  const slow = await startServer((_req, res) => {
    most = Math.max(most, ++inFlight);
    setTimeout(() => {
      inFlight--;
      res.end('ok');
    }, 50);
  }, false);
  const ctx = testContext({ durationMs: 1000 });
  t.after(async () => { ctx.cleanup(); await slow.close(); });
  // 400/s against 50 ms answers would need 20 in flight; the cap allows 5 (about 100/s get through).
  const s = await runLoad(spec({ url: `${slow.url}/`, rate: 400, maxInFlight: 5 }), ctx);
  assert.ok(most <= 5, `${most} requests in flight at once`);
  assert.ok(most >= 4, `the cap was never reached (${most})`);
  assert.ok(s.requests < 200, `${s.requests} requests`);
  assert.ok(s.latencyMs && s.latencyMs.p99 > 300, `latency from the intended time should grow while sends wait: p99 ${s.latencyMs?.p99}`);
});

test('${port} without a picked port is a clear error', async (t) => {
  const ctx = testContext({ durationMs: 500 });
  t.after(() => ctx.cleanup());
  await assert.rejects(runLoad(spec({ url: 'http://127.0.0.1:${port}/' }), ctx), (e: Error) => e instanceof AlloclabError && /no port was picked/.test(e.message));
});

test('keepAlive false opens a new connection per request; true reuses them', async (t) => {
  const server = await startServer();
  const ctx = testContext({ durationMs: 10_000, requests: 30 });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  const off = await runLoad(spec({ url: `${server.url}/`, concurrency: 2, keepAlive: false }), ctx);
  assert.equal(off.requests, 30);
  assert.ok(server.connections() >= 30, `${server.connections()} connections for 30 requests without keep-alive`);
  const before = server.connections();
  const on = await runLoad(spec({ url: `${server.url}/`, concurrency: 2 }), ctx);
  assert.equal(on.requests, 30);
  assert.ok(server.connections() - before <= 2, `${server.connections() - before} connections with keep-alive`);
});

test('errors by kind: status >= 400, connection refused, timeout', async (t) => {
  let n = 0;
  const flaky = await startServer((_req, res) => {
    res.statusCode = ++n % 2 ? 500 : n % 4 === 0 ? 404 : 200;
    res.end();
  });
  const ctx = testContext({ durationMs: 10_000, requests: 40 });
  t.after(async () => { ctx.cleanup(); await flaky.close(); });
  const s = await runLoad(spec({ url: `${flaky.url}/`, concurrency: 1 }), ctx);
  assert.equal(s.requests, 40);
  assert.equal(s.errors.status, 30, 'twenty 500s and ten 404s');
  assert.equal(s.errors.connect + s.errors.timeout + s.errors.other, 0);

  const closedPort = await freePort();
  const refused = await runLoad(spec({ url: `http://127.0.0.1:${closedPort}/`, concurrency: 2 }), { ...ctx, durationMs: 500, requests: null });
  assert.ok(refused.errors.connect > 0, 'no connect errors');
  assert.equal(refused.requests, refused.errors.connect);
  assert.equal(refused.throughputRps, 0);
  assert.equal(refused.latencyMs, undefined);

  const silent = await startServer(() => undefined);
  t.after(() => silent.close());
  const timedOut = await runLoad(spec({ url: `${silent.url}/`, concurrency: 2, timeout: '200ms' }), { ...ctx, durationMs: 1500, requests: null });
  assert.ok(timedOut.errors.timeout >= 2, `timeouts: ${JSON.stringify(timedOut.errors)}`);
  assert.equal(timedOut.errors.connect + timedOut.errors.status, 0);
});

test('a target that stops answering: errors counted, the phase runs to its end', async (t) => {
  let served = 0;
  let closing: Promise<void> | null = null;
  const server = await startServer((_req, res) => {
    res.end('ok');
    // Go away after a few answers: later requests meet a closed port.
    if (++served === 20) closing = server.close();
  }, false);
  const ctx = testContext({ durationMs: 1200 });
  t.after(async () => { ctx.cleanup(); await (closing ?? server.close()); });
  const s = await runLoad(spec({ url: `${server.url}/`, concurrency: 2 }), ctx);
  assert.ok(s.durationMs >= 1150, `ended after ${s.durationMs} ms`);
  assert.ok(s.requests > s.errors.connect && s.errors.connect > 0, JSON.stringify(s));
});

test('abort stops the load at once', async (t) => {
  let served = 0;
  const server = await startServer((_req, res) => {
    served++;
    res.end('ok');
  }, false);
  const ac = new AbortController();
  const ctx = testContext({ durationMs: 30_000, signal: ac.signal });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  let abortedAt = 0;
  // Abort once the load is flowing (a busy machine can take a while to start the worker).
  const poll = setInterval(() => {
    if (served > 50 && !abortedAt) {
      abortedAt = Date.now();
      ac.abort();
    }
  }, 10);
  t.after(() => clearInterval(poll));
  const s = await runLoad(spec({ url: `${server.url}/`, concurrency: 4 }), ctx);
  const took = Date.now() - abortedAt;
  assert.ok(abortedAt > 0 && took < 3000, `runLoad returned ${took} ms after the abort`);
  assert.ok(s.durationMs < 20_000, `phase lasted ${s.durationMs} ms`);
  const atEnd = served;
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(served - atEnd <= 4, `${served - atEnd} requests arrived after runLoad returned`);
  assert.ok(s.requests > 0 && s.requests <= served, JSON.stringify(s));
});

test('body, header and URL templates are rendered per request; lists from CSV and JSON files', async (t) => {
  const server = await startServer((_req, res) => res.end('ok'));
  const ctx = testContext({ durationMs: 10_000, requests: 40 });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  writeFileSync(path.join(ctx.baseDir, 'names.csv'), 'alice\r\nbob\n\ncarol\n');
  writeFileSync(path.join(ctx.baseDir, 'tags.json'), JSON.stringify(['x', { k: 1 }]));
  const body = '{"id":{{counter}},"hex":"{{randomHex 12}}","n":{{randomInt 5 7}},"u":"{{uuid}}","c":"{{choice red green}}","name":"{{list names}}","inline":"{{list colours}}"}';
  const s = await runLoad(
    spec({
      method: 'POST',
      url: `${server.url}/members/{{counter}}`,
      headers: { 'content-type': 'application/json', 'x-tag': '{{list tags}}' },
      body,
      concurrency: 3,
      lists: { names: { file: 'names.csv' }, tags: { file: 'tags.json' }, colours: ['blue'] },
    }),
    ctx,
  );
  assert.equal(s.requests, 40);
  assert.equal(s.errors.status + s.errors.other, 0);
  const bodies = server.received.map((r) => JSON.parse(r.body) as Record<string, string | number>);
  assert.deepEqual(bodies.map((b) => b.id).sort((a, b) => +a - +b), Array.from({ length: 40 }, (_, i) => i + 1));
  for (const [i, b] of bodies.entries()) {
    assert.match(String(b.hex), /^[0-9a-f]{12}$/);
    assert.ok([5, 6, 7].includes(Number(b.n)), `randomInt gave ${b.n}`);
    assert.match(String(b.u), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(['red', 'green'].includes(String(b.c)));
    assert.ok(['alice', 'bob', 'carol'].includes(String(b.name)), `list gave "${b.name}"`);
    assert.equal(b.inline, 'blue');
    const r = server.received[i];
    assert.equal(r.method, 'POST');
    assert.equal(r.url, `/members/${b.id}`, 'URL and body of one request share the counter');
    assert.ok(['x', '{"k":1}'].includes(String(r.headers['x-tag'])), `header ${r.headers['x-tag']}`);
  }
  assert.ok(new Set(bodies.map((b) => b.hex)).size > 35, 'randomHex repeats');
  assert.ok(new Set(bodies.map((b) => b.name)).size >= 2, 'list picks always the same value');
});

test('a missing list file is a clear error before any request', async (t) => {
  const server = await startServer();
  const ctx = testContext({ durationMs: 500 });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  await assert.rejects(
    runLoad(spec({ url: `${server.url}/`, body: '{{list ids}}', lists: { ids: { file: 'nope.csv' } } }), ctx),
    (e: Error) => e instanceof AlloclabError && e.kind === 'input' && /List "ids".*nope\.csv/.test(e.message),
  );
  assert.equal(server.received.length, 0);
});

test('remote URLs are refused without opt-in; loopback forms are accepted', async (t) => {
  const ctx = testContext({ durationMs: 500 });
  t.after(() => ctx.cleanup());
  await assert.rejects(runLoad(spec({ url: 'http://10.255.255.1:8080/' }), ctx), (e: Error) => e instanceof AlloclabError && e.kind === 'input' && /allowRemoteTargets/.test(e.message));
  for (const ok of ['http://127.0.0.1/', 'http://127.3.4.5:81/x', 'http://localhost:8080/', 'http://[::1]:9/', 'http://[::ffff:127.0.0.1]/']) {
    assert.doesNotThrow(() => assertLoopback(ok, false), ok);
  }
  for (const bad of ['http://example.com/', 'http://128.0.0.1/', 'http://[::2]/', 'http://localhost.example.com/', 'http://0.0.0.0/']) {
    assert.throws(() => assertLoopback(bad, false), AlloclabError, bad);
  }
  assert.doesNotThrow(() => assertLoopback('http://example.com/', true));
  assert.throws(() => assertLoopback('ftp://127.0.0.1/', false), /only http/);
});
