// The loopback guard against crafted URLs: a template in the origin, numeric host spellings, IPv6-mapped
// addresses, trailing dots, userinfo, *.localhost. What is judged must be the address really connected to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AlloclabError, TargetError } from '../../../src/core/errors';
import { launchTarget } from '../../../src/core/launch';
import { assertLoopback, isLoopbackAddress, pinUrl, splitOrigin } from '../../../src/core/os/net';
import { commandLoadSchema, httpLoadSchema, runLoad } from '../../../src/core/stress';
import { startServer, testContext } from '../stress/support';

const PORT = 4321;

/** Rejected with a typed input error (exit 2) before anything connects. */
async function refused(url: string): Promise<void> {
  await assert.rejects(pinUrl(url, false), (e: Error) => e instanceof AlloclabError && e.kind === 'input', url);
}

test('a template in the scheme, host, port or userinfo is refused; in the path, query and fragment it is fine', async () => {
  const inOrigin = [
    // The reported bypass: the guard saw "localhost" (userinfo "0{{choice "), the worker connected to 0x = 0.0.0.0.
    `http://0{{choice @localhost/}}:${PORT}/`,
    `http://{{choice 10.0.0.1 127.0.0.1}}:${PORT}/`,
    `http://127.0.0.1:{{randomInt 1 65535}}/`,
    `{{choice http https}}://127.0.0.1:${PORT}/`,
    `http://127.0.0.{{randomInt 1 9}}:${PORT}/`,
    `http://user{{counter}}@127.0.0.1:${PORT}/`,
    `http://127.0.0.1{{uuid}}/`,
    `http:{{choice //10.0.0.1/}}`,
  ];
  for (const url of inOrigin) {
    assert.throws(() => assertLoopback(url, false), (e: Error) => e instanceof AlloclabError && e.kind === 'input' && /template/.test(e.message), url);
    // Even with remote targets allowed: the origin must be known before the first request.
    assert.throws(() => assertLoopback(url, true), /template/, url);
  }
  for (const url of [`http://127.0.0.1:${PORT}/items/{{counter}}`, `http://127.0.0.1:${PORT}/?q={{randomHex 4}}`, `http://localhost:${PORT}/#{{uuid}}`, `http://127.0.0.1:${PORT}?x={{counter}}`]) {
    assert.doesNotThrow(() => assertLoopback(url, false), url);
  }
  assert.deepEqual(splitOrigin(`http://127.0.0.1:${PORT}/a/{{counter}}`), { origin: `http://127.0.0.1:${PORT}`, rest: '/a/{{counter}}' });
});

test('numeric, mapped, dotted and userinfo spellings are judged by the address they mean', async () => {
  const loopback = [
    'http://2130706433/', // decimal 127.0.0.1
    'http://0x7f000001/', // hex
    'http://0177.0.0.1/', // octal
    'http://0x7f.1/',
    'http://127.1/',
    'http://127.0.0.1./', // trailing dot
    'http://[::ffff:127.0.0.1]/', // IPv4-mapped (the parser writes [::ffff:7f00:1])
    'http://[::ffff:7f00:2]/',
    'http://[0:0:0:0:0:0:0:1]/',
    'http://localhost./',
    'http://LOCALHOST:80/',
    'http://api.localhost/',
    'http://evil.com@127.0.0.1/', // userinfo in front of a loopback host
  ];
  for (const url of loopback) {
    const pin = await pinUrl(url, false);
    assert.ok(isLoopbackAddress(pin.address), `${url} pinned to ${pin.address}`);
  }
  const outside = [
    'http://0/', 'http://0.0.0.0/', 'http://[::]/', 'http://[::2]/',
    'http://167772161/', // decimal 10.0.0.1
    'http://0x0a000001/', // hex 10.0.0.1
    'http://012.0.0.1/', // octal 10.0.0.1
    'http://10.0.0.1./', // trailing dot
    'http://[::ffff:10.0.0.1]/', 'http://[::ffff:a00:1]/', 'http://[::ffff:808:808]/',
    'http://127.0.0.1@10.0.0.1/', // userinfo that looks like loopback
    'http://127.0.0.1:80@10.0.0.1/',
    'http://10.0.0.1#@127.0.0.1/',
    'http://127.0.0.1\\@10.0.0.1/', // a backslash the parser reads as a slash
    'http://localhost.example.com/',
    'http://127.0.0.1.nip.io/',
    'http://128.0.0.1/',
    'ftp://127.0.0.1/',
  ];
  for (const url of outside) await refused(url);
});

test('*.localhost is pinned to what localhost resolves to, never asked of DNS', async () => {
  const plain = await pinUrl('http://localhost/', false);
  for (const name of ['a.localhost', 'deep.name.localhost.', 'x-y.LocalHost']) {
    const pin = await pinUrl(`http://${name}:${PORT}/`, false);
    assert.equal(pin.address, plain.address, name);
    assert.ok(isLoopbackAddress(pin.address), name);
  }
});

test('the reported bypass URL, end to end: no request leaves, the error is typed; a template in the path still loads', async (t) => {
  const server = await startServer();
  const ctx = testContext({ durationMs: 400 });
  t.after(async () => { ctx.cleanup(); await server.close(); });
  const spec = (url: string) => httpLoadSchema.parse({ driver: 'http', url, concurrency: 2 });
  await assert.rejects(runLoad(spec('http://0{{choice @localhost/}}:${port}/'), { ...ctx, port: server.port }),
    (e: Error) => e instanceof AlloclabError && e.kind === 'input' && /template/.test(e.message));
  await assert.rejects(runLoad(spec('http://0x0a000001:${port}/'), { ...ctx, port: server.port }), /Refusing to send load/);
  assert.equal(server.connections(), 0);

  // A name is resolved once and every connection goes to that address: the server on 127.0.0.1 gets the load
  // addressed to a *.localhost name, with the Host header as written and the path rendered per request.
  const stats = await runLoad(spec('http://svc.localhost:${port}/items/{{counter}}'), { ...ctx, port: server.port });
  if ((await pinUrl('http://localhost/', false)).family === 6) return t.skip('localhost resolves to ::1 here; the server listens on 127.0.0.1');
  assert.ok(stats.requests > 0 && server.received.length > 0, `requests: ${stats.requests}`);
  assert.ok(server.received.every((r) => /^\/items\/\d+$/.test(r.url)), server.received[0]?.url);
  assert.equal(server.received[0].headers.host, `svc.localhost:${server.port}`);
});

test('an external driver gets the checked address in ${url}, not a name to resolve again', async (t) => {
  // Long enough for node to start on a loaded machine; the phase ends when the driver exits.
  const ctx = testContext({ durationMs: 20_000, port: PORT });
  t.after(() => ctx.cleanup());
  const spec = commandLoadSchema.parse({ driver: 'command', command: process.execPath, args: ['-e', 'console.log("URL=" + process.argv[1])', '${url}'], url: 'http://svc.localhost:${port}/x?y={{counter}}' });
  await runLoad(spec, ctx);
  const log = readFileSync(path.join(ctx.outDir, 'driver-load.log'), 'utf8');
  const url = /^URL=(\S+)$/m.exec(log)?.[1] ?? '';
  assert.ok(url, log);
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  assert.ok(isLoopbackAddress(host), log);
  assert.equal(new URL(url).port, String(PORT));
  assert.ok(url.endsWith('/x?y={{counter}}'), url);
  await assert.rejects(runLoad(commandLoadSchema.parse({ driver: 'command', command: 'true', url: 'http://{{choice 10.0.0.1}}/' }), ctx), /template/);
});

test('readiness follows the same rule: a remote or templated ready URL is a typed error', async () => {
  const t = await launchTarget({ command: 'sleep', args: ['5'], cwd: process.cwd(), env: { PATH: process.env.PATH ?? '' }, stdoutPath: '/dev/null', stderrPath: '/dev/null' });
  try {
    for (const url of ['http://0x0a000001/', 'http://127.0.0.1@10.0.0.1/', 'http://0{{choice @localhost/}}:1/']) {
      await assert.rejects(t.waitReady({ httpUrl: url, timeoutMs: 2000 }), (e: Error) => e instanceof TargetError && e.kind === 'input', url);
    }
  } finally {
    await t.stop(500);
  }
});
