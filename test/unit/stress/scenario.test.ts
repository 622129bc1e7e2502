// Scenario parsing: every mistake a user can make points at its exact line and column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScenarioError } from '../../../src/core/errors';
import { expandPhases, parseScenarioText, phaseLimits, type Phase } from '../../../src/core/stress';

/** A valid scenario whose first phase gets `phase` (JSON text of extra phase fields) spliced in. */
function scenario(phase: string, top = ''): string {
  return `// demo scenario, JSON with comments
{
  "name": "demo",${top}
  "target": { "command": "./demo", "args": ["--port", "\${port}"] },
  "phases": [
    {
      "name": "load",
      "kind": "load",
${phase}
    },
  ],
}
`;
}

/** 1-based line/column of the n-th occurrence of `needle` (counted independently of the parser). */
function at(text: string, needle: string, n = 1, delta = 0): { line: number; column: number } {
  let i = -1;
  for (let k = 0; k < n; k++) i = text.indexOf(needle, i + 1);
  assert.ok(i >= 0, `${needle} not in the text`);
  i += delta;
  const before = text.slice(0, i).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function errorAt(text: string): ScenarioError {
  try {
    parseScenarioText(text, 'demo.alloclab.json');
  } catch (e) {
    assert.ok(e instanceof ScenarioError, `not a ScenarioError: ${e}`);
    assert.equal(e.kind, 'input');
    return e;
  }
  assert.fail('the scenario was accepted');
}

function assertErrorAt(text: string, expected: { line: number; column: number }, detail: RegExp): void {
  const e = errorAt(text);
  assert.deepEqual({ line: e.line, column: e.column }, expected, e.message);
  assert.match(e.detail, detail);
  assert.ok(e.message.startsWith(`demo.alloclab.json:${expected.line}:${expected.column}: `), e.message);
}

test('a valid scenario with comments, trailing commas and the new fields parses; defaults keep old files valid', () => {
  const text = scenario(`      "duration": "2s",
      "load": { "driver": "http", "url": "http://127.0.0.1:\${port}/members", "method": "POST", "body": "{\\"id\\": {{counter}}}" },`,
  `\n  "repeat": 2, "failOn": "growth>5MiB/min, peak>+20%",`);
  const s = parseScenarioText(text, 'x');
  assert.equal(s.repeat, 2);
  assert.equal(s.failOn, 'growth>5MiB/min, peak>+20%');
  assert.equal(s.allowRemoteTargets, false);
  const load = s.phases[0].load;
  assert.ok(load?.driver === 'http');
  assert.equal(load.keepAlive, true);
  assert.equal(load.timeout, '10s');
  assert.equal(load.body, '{"id": {{counter}}}');
  const old = parseScenarioText('{"name":"a","target":{"command":"x"},"phases":[{"name":"p","kind":"idle","duration":"1s"}]}', 'x');
  assert.equal(old.repeat, 1);
  assert.deepEqual(old.environments, ['glibc', 'jemalloc']);
});

test('unknown key: points at the key', () => {
  const text = scenario('      "duration": "2s", "bogus": 1,');
  assertErrorAt(text, at(text, '"bogus"'), /bogus/);
});

test('unknown key at the top level and in the load', () => {
  const top = scenario('      "duration": "2s",', '\n  "repeats": 3,');
  assertErrorAt(top, at(top, '"repeats"'), /repeats/);
  const load = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "rps": 5 },');
  assertErrorAt(load, at(load, '"rps"'), /rps/);
});

test('wrong type: points at the value', () => {
  const text = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "concurrency": "8" },');
  assertErrorAt(text, at(text, '"8"'), /phases\.0\.load\.concurrency: .*number/);
});

test('zero and negative durations', () => {
  const zero = scenario('      "duration": "0s",');
  assertErrorAt(zero, at(zero, '"0s"'), /greater than zero/);
  const negative = scenario('      "duration": "-5s",');
  assertErrorAt(negative, at(negative, '"-5s"'), /duration/);
  const zeroRequests = scenario('      "requests": 0, "load": { "driver": "http", "url": "http://127.0.0.1/" },');
  assertErrorAt(zeroRequests, at(zeroRequests, '0,'), /requests/);
});

test('unknown template variable: points at the {{ inside the string, escapes counted', () => {
  const text = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "body": "{\\"a\\": \\"\\u0041{{nope 1}}\\"}" },');
  // Source: "{\"a\": \"\u0041{{nope 1}}\"}" -- the column is that of "{{" in the file, not in the decoded string.
  assertErrorAt(text, at(text, '{{nope'), /unknown template variable "nope"/);
  const badArgs = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "body": "x{{randomInt 9 3}}" },');
  assertErrorAt(badArgs, at(badArgs, '{{randomInt'), /MIN \(9\) is greater than MAX \(3\)/);
  const header = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "headers": { "x-id": "{{uuid}}-{{randomHex}}" } },');
  assertErrorAt(header, at(header, '{{randomHex'), /randomHex N/);
  const unclosed = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/items/{{counter" },');
  assertErrorAt(unclosed, at(unclosed, '{{counter'), /unclosed/);
});

test('{{list NAME}} must name a list declared in the scenario or the load', () => {
  const text = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "body": "{{list ids}} {{list names}}", "lists": { "ids": ["1"] } },');
  assertErrorAt(text, at(text, '{{list names'), /unknown list "names".*declared: ids/);
  const ok = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "body": "{{list ids}} {{list names}}", "lists": { "ids": ["1"] } },',
    '\n  "lists": { "names": { "file": "names.csv" }, "ids": ["0"] },');
  const s = parseScenarioText(ok, 'x');
  const load = s.phases[0].load;
  assert.ok(load?.driver === 'http');
  // Scenario-level lists are merged into the load; the load's own list of the same name wins.
  assert.deepEqual(load.lists, { names: { file: 'names.csv' }, ids: ['1'] });
});

test('failOn that does not parse: points at its value', () => {
  const text = scenario('      "duration": "2s",', '\n  "failOn": "growth>5MiB, peak>+20%",');
  assertErrorAt(text, at(text, '"growth>5MiB'), /failOn: "growth>5MiB".*rate such as 5MiB\/min/);
  const metric = scenario('      "duration": "2s",', '\n  "failOn": "rss>1GiB",');
  assertErrorAt(metric, at(metric, '"rss>'), /unknown metric "rss"/);
});

test('rate and concurrency together, requests without HTTP load, idle with load, neither duration nor requests', () => {
  const both = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "concurrency": 4, "rate": 100 },');
  assertErrorAt(both, at(both, '100'), /either rate .* or concurrency/);
  const noLoad = scenario('      "requests": 100,');
  assertErrorAt(noLoad, at(noLoad, '100'), /requests needs a built-in HTTP load/);
  const idle = `{"name":"a","target":{"command":"x"},"phases":[{"name":"rest","kind":"idle","duration":"1s",\n  "load":{"driver":"http","url":"http://127.0.0.1/"}}]}`;
  assertErrorAt(idle, { line: 2, column: 10 }, /idle phase runs no load/);
  const neither = scenario('');
  assertErrorAt(neither, at(neither, '{\n      "name": "load"'), /needs a duration/);
});

test('invalid JSON and an unknown driver', () => {
  const text = '{\n  "name": "a",\n  "target": { "command": "x" }\n  "phases": []\n}';
  assertErrorAt(text, { line: 4, column: 3 }, /invalid JSON/);
  const driver = scenario('      "duration": "2s", "load": { "driver": "ab", "command": "ab" },');
  assertErrorAt(driver, at(driver, '"ab"'), /driver/);
});

test('command driver, build, requests-bounded phases and repeat', () => {
  const text = scenario(`      "requests": 500, "repeat": 3,
      "load": { "driver": "http", "url": "http://127.0.0.1:\${port}/", "rate": 50 } },
    { "name": "wrk", "kind": "load", "duration": "3s",
      "load": { "driver": "command", "command": "wrk", "args": ["-d", "\${duration}s", "\${url}"], "url": "http://127.0.0.1:\${port}/" },`);
  const withBuild = text.replace('"args": ["--port", "${port}"] }', '"args": ["--port", "${port}"], "build": { "command": "make", "args": ["-C", "native"] } }');
  const s = parseScenarioText(withBuild, 'x');
  assert.deepEqual(s.target.build, { command: 'make', args: ['-C', 'native'] });
  assert.equal(s.phases[0].duration, '10m', 'a requests-bounded phase gets the default maximum');
  assert.deepEqual(phaseLimits(s.phases[0]), { durationMs: 600_000, requests: 500 });
  const expanded = expandPhases(s.phases);
  assert.deepEqual(expanded.map((p) => p.name), ['load#1', 'load#2', 'load#3', 'wrk']);
  assert.ok(expanded.every((p: Phase) => !p.repeat));
  assert.equal(expanded[3].load?.driver, 'command');
});

test('the shipped examples for wrk and siege are valid scenarios', async () => {
  const { loadScenarioFile } = await import('../../../src/core/stress');
  const { repoRoot } = await import('../support/paths');
  for (const name of ['wrk', 'siege']) {
    const { scenario } = loadScenarioFile(`${repoRoot}/examples/${name}.alloclab.json`);
    const load = scenario.phases[0].load;
    assert.ok(load?.driver === 'command' && load.command === name, name);
    assert.ok(load.args.some((a) => a.includes('${duration}')), `${name} does not end with the phase`);
  }
});

test('a list file that does not exist is reported at its "file" value when the scenario is loaded', async (t) => {
  const { loadScenarioFile } = await import('../../../src/core/stress');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/alloclab-scn-`);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const text = scenario('      "duration": "2s", "load": { "driver": "http", "url": "http://127.0.0.1/", "body": "{{list ids}}", "lists": { "ids": { "file": "ids.csv" } } },');
  writeFileSync(`${dir}/s.alloclab.json`, text);
  const e = (() => {
    try {
      loadScenarioFile(`${dir}/s.alloclab.json`);
    } catch (err) {
      return err as ScenarioError;
    }
    assert.fail('accepted a missing list file');
  })();
  assert.ok(e instanceof ScenarioError);
  assert.deepEqual({ line: e.line, column: e.column }, at(text, '"ids.csv"'));
  assert.match(e.detail, /ids\.csv does not exist/);
  writeFileSync(`${dir}/ids.csv`, '1\n2\n');
  assert.equal(loadScenarioFile(`${dir}/s.alloclab.json`).scenario.phases.length, 1);
});
