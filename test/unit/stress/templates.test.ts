// Template parsing and rendering without HTTP (the HTTP tests check them end to end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AlloclabError } from '../../../src/core/errors';
import { compileTemplate, parseTemplate, resolveLists } from '../../../src/core/stress';

test('every variable renders; one render shares its counter', () => {
  const r = compileTemplate('{{counter}}/{{ counter }} {{randomHex 40}} {{randomInt -2 2}} {{uuid}} {{choice a b c}} {{list l}}', { l: ['only'] });
  const seen = new Set<string>();
  for (let c = 1; c <= 200; c++) {
    const [ids, hex, int, uuid, choice, list] = r(c).split(' ');
    assert.equal(ids, `${c}/${c}`);
    assert.match(hex, /^[0-9a-f]{40}$/);
    assert.ok(Number(int) >= -2 && Number(int) <= 2 && Number.isInteger(Number(int)), int);
    seen.add(int);
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.ok(['a', 'b', 'c'].includes(choice));
    assert.equal(list, 'only');
  }
  assert.equal(seen.size, 5, 'randomInt does not cover MIN..MAX');
  assert.equal(compileTemplate('plain {text}', {})(7), 'plain {text}');
});

test('parseTemplate reports the first mistake with its index', () => {
  const bad = (t: string) => {
    const p = parseTemplate(t, new Set(['ids']));
    assert.ok('problem' in p, `${t} accepted`);
    return p.problem;
  };
  assert.deepEqual(bad('ab{{nope}}'), { index: 2, message: bad('ab{{nope}}').message });
  assert.match(bad('ab{{nope}}').message, /unknown template variable "nope"/);
  assert.match(bad('{{counter 1}}').message, /no arguments/);
  assert.match(bad('{{randomHex x}}').message, /randomHex N/);
  assert.match(bad('{{choice}}').message, /at least one/);
  assert.match(bad('{{list other}}').message, /unknown list "other"/);
  assert.equal(bad('ok {{counter}} {{').index, 15);
  assert.match(bad('{{}}').message, /empty/);
});

test('lists from CSV lines and JSON arrays; missing or empty files are user errors', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'alloclab-lists-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'a.csv'), 'x,1\r\n\ny,2\n');
  writeFileSync(path.join(dir, 'b.json'), '["p", 3, {"q": true}]');
  writeFileSync(path.join(dir, 'empty.csv'), '\n\n');
  writeFileSync(path.join(dir, 'obj.json'), '{"a": 1}');
  assert.deepEqual(resolveLists({ a: { file: 'a.csv' }, b: { file: 'b.json' }, c: ['z'] }, dir), { a: ['x,1', 'y,2'], b: ['p', '3', '{"q":true}'], c: ['z'] });
  for (const [file, re] of [['missing.csv', /cannot read/], ['empty.csv', /no values/], ['obj.json', /JSON array/]] as const) {
    assert.throws(() => resolveLists({ l: { file } }, dir), (e: Error) => e instanceof AlloclabError && e.kind === 'input' && re.test(e.message), file);
  }
});
