import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFromWebview, isRunSnapshot, isToWebview } from '../../../src/protocol/webview';
import { fixtureRun } from './fixture';

// Messages cross a process boundary as JSON-like clones: test what really arrives.
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

test('a snapshot of a real-shaped run is accepted, and every part of it is checked', () => {
  const run = clone(fixtureRun(500));
  assert.equal(isToWebview({ type: 'snapshot', run }), true);
  assert.equal(isRunSnapshot(run), true);

  const broken = [
    (r: typeof run) => { (r.environments[1].samples[3] as unknown as Record<string, unknown>).rssBytes = 'a lot'; },
    (r: typeof run) => { (r.environments[0].samples[0] as unknown as Record<string, unknown>).t = null; },
    (r: typeof run) => { (r.environments[2].events[0] as unknown as Record<string, unknown>).type = 'explode'; },
    (r: typeof run) => { (r.record as unknown as Record<string, unknown>).id = 7; },
    (r: typeof run) => { (r.record.environments[0] as unknown as Record<string, unknown>).label = undefined; },
    (r: typeof run) => { (r.environments[0].record.exit as unknown as Record<string, unknown>).expected = 'no'; },
    (r: typeof run) => { (r.environments[0].record.metrics as unknown as Record<string, unknown>).growthBytesPerMin = 'fast'; },
    (r: typeof run) => { (r as unknown as Record<string, unknown>).environments = {}; },
    (r: typeof run) => { (r as unknown as Record<string, unknown>).live = 'yes'; },
  ];
  for (const [i, breakIt] of broken.entries()) {
    const bad = clone(run);
    breakIt(bad);
    assert.equal(isToWebview({ type: 'snapshot', run: bad }), false, `mutation ${i} was accepted`);
  }
});

test('increments are accepted only with a valid index and payload', () => {
  assert.equal(isToWebview({ type: 'samples', index: 1, samples: [{ t: 10, rssBytes: 5, anonBytes: 3 }] }), true);
  assert.equal(isToWebview({ type: 'samples', index: 0, samples: [] }), true);
  assert.equal(isToWebview({ type: 'samples', index: -1, samples: [] }), false);
  assert.equal(isToWebview({ type: 'samples', index: 1.5, samples: [] }), false);
  assert.equal(isToWebview({ type: 'samples', index: 0, samples: [{ t: 1, rssBytes: Infinity }] }), false);
  assert.equal(isToWebview({ type: 'samples', index: 0, samples: [{ t: 1, rssBytes: 1, threads: '4' }] }), false);
  assert.equal(isToWebview({ type: 'samples', index: 0 }), false);
  assert.equal(isToWebview({ type: 'event', index: 0, event: { t: 5, type: 'debug-stop', reason: 'breakpoint' } }), true);
  assert.equal(isToWebview({ type: 'event', index: 0, event: { t: 5, type: 'phase-start', phase: 'p', kind: 'sprint', index: 0 } }), false);
  assert.equal(isToWebview({ type: 'event', index: 0, event: { t: 5, type: 'exit', code: null, signal: 'SIGKILL', expected: false } }), true);
  assert.equal(isToWebview({ type: 'event', index: 0, event: { t: 5, type: 'note', level: 'fatal', message: 'x' } }), false);
  assert.equal(isToWebview({ type: 'record', record: clone(fixtureRun(1000).record) }), true);
  assert.equal(isToWebview({ type: 'record', record: { id: 'x' } }), false);
  assert.equal(isToWebview({ type: 'theme' }), true);
  assert.equal(isToWebview({ type: 'exported', format: 'csv', file: '/tmp/a.csv' }), true);
  assert.equal(isToWebview({ type: 'exported', format: 'svg', file: null }), false);
  for (const junk of [null, undefined, 42, 'snapshot', [], {}, { type: 'nope' }]) assert.equal(isToWebview(junk), false);
});

test('messages from the webview are checked before the host acts on them', () => {
  assert.equal(isFromWebview({ type: 'ready' }), true);
  assert.equal(isFromWebview({ type: 'export', format: 'csv', data: 't_s\n', suggestedName: 'run-1.csv' }), true);
  assert.equal(isFromWebview({ type: 'export', format: 'png', data: 'data:image/png;base64,iVBOR', suggestedName: 'r.png' }), true);
  assert.equal(isFromWebview({ type: 'export', format: 'png', data: 'data:text/html;base64,PGh0bWw+', suggestedName: 'r.png' }), false);
  assert.equal(isFromWebview({ type: 'export', format: 'csv', data: 'x', suggestedName: '../../etc/passwd' }), false);
  assert.equal(isFromWebview({ type: 'export', format: 'exe', data: 'x', suggestedName: 'a.exe' }), false);
  assert.equal(isFromWebview({ type: 'export', format: 'json', data: 5, suggestedName: 'a.json' }), false);
  assert.equal(isFromWebview({ type: 'openSource', file: 'src/cache.cpp', line: 42 }), true);
  assert.equal(isFromWebview({ type: 'openSource', file: 'src/cache.cpp', line: 0 }), false);
  assert.equal(isFromWebview({ type: 'openSource', file: '', line: 3 }), false);
  assert.equal(isFromWebview({ type: 'log', level: 'warning', message: 'm' }), true);
  assert.equal(isFromWebview({ type: 'log', level: 'debug', message: 'm' }), false);
  for (const junk of [null, 'ready', { type: 'snapshot' }]) assert.equal(isFromWebview(junk), false);
});
