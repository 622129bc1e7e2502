// What a failing target says through us: its stderr lines kept when it dies before it is ready, its escape
// sequences never reaching the user's terminal; and 3xx answers counted apart from successes.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { test } from 'node:test';
import { printableOutput } from '../../../src/core/errors';
import { nativeProgram } from '../support/paths';
import { runCli, runCliAsync, tempDir } from './support';

test('printableOutput drops escape sequences and control characters, keeps the words', () => {
  const hostile = '\x1b]0;owned title\x07\x1b[2J\x1b[31mred\x1b[0m text\x1bc\x07\x08 \x9b2Jend\ttab\r';
  const clean = printableOutput(hostile);
  assert.equal(clean, 'red text end\ttab');
  assert.doesNotMatch(clean, /[\x00-\x08\x0a-\x1f\x7f-\x9f]/);
  assert.equal(printableOutput('a\nb', true), 'a\nb');
  assert.equal(printableOutput('a\nb'), 'ab');
  assert.equal(printableOutput('\x1bP1;2|secret\x1b\\after'), 'after');
});

function scenario(dir: string, target: object, phases: object[]): string {
  const file = path.join(dir, 's.alloclab.json');
  fs.writeFileSync(file, JSON.stringify({ name: 'msg', target, environments: ['glibc'], phases }));
  return file;
}

test('a target that exits before it is ready keeps its stderr lines, stripped of escapes, in the run and on the terminal', () => {
  const cwd = tempDir('messages');
  const early = scenario(cwd, { command: nativeProgram('exit-early'), ready: { tcpPort: '${port}', timeout: '10s' } }, [{ name: 'p', kind: 'idle', duration: '1s' }]);
  const r = runCli(['run', early, '--json', '--runs-dir', path.join(cwd, 'runs')], cwd);
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const env = JSON.parse(r.stdout).environments[0];
  assert.match(env.error, /exited with code 3 before it was ready/);
  assert.match(env.error, /config file missing/);
  assert.match(env.error, /giving up/);

  const hostile = scenario(cwd, {
    command: '/bin/sh', args: ['-c', 'printf "\\033]0;owned\\007\\033[2Jcannot bind\\033[0m\\n" >&2; exit 4'],
    ready: { tcpPort: '${port}', timeout: '10s' },
  }, [{ name: 'p', kind: 'idle', duration: '1s' }]);
  const h = runCli(['run', hostile, '--runs-dir', path.join(cwd, 'runs')], cwd);
  assert.match(h.stdout, /cannot bind/);
  assert.doesNotMatch(h.stdout + h.stderr, /\x1b/, 'no escape sequence reaches the terminal');
  const json = JSON.parse(runCli(['run', hostile, '--json', '--runs-dir', path.join(cwd, 'runs')], cwd).stdout);
  assert.match(json.environments[0].error, /cannot bind/);
  assert.doesNotMatch(json.environments[0].error, /\x1b/);
});

test('3xx answers are counted apart from successes and named under the table', async () => {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url?.startsWith('/moved') ? 302 : 200, { location: '/elsewhere' });
    res.end('x');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const cwd = tempDir('messages');
    const file = scenario(cwd, { command: '/bin/sleep', args: ['30'] }, [
      { name: 'load', kind: 'load', duration: '1s', load: { driver: 'http', url: `http://127.0.0.1:${port}/moved`, concurrency: 2 } },
    ]);
    const out = path.join(cwd, 'run');
    const r = await runCliAsync(['run', file, '--out', out, '--json'], cwd);
    assert.equal(r.status, 0, r.stderr);
    const load = JSON.parse(r.stdout).environments[0].phases[0].load;
    assert.ok(load.requests > 0);
    assert.equal(load.redirects, load.requests, 'every answer was a 302');
    assert.equal(load.errors.status, 0, 'a redirect is not an error either');
    const show = await runCliAsync(['show', out], cwd);
    assert.match(show.stdout, /glibc[^\n]*: \d+ answers were redirects \(3xx\)/);
  } finally {
    server.close();
  }
});
