import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { RunRecord } from '../../../src/core/model';
import { openRun } from '../../../src/core/runs/store';
import { isToWebview, type RunSnapshot, type ToWebview } from '../../../src/protocol/webview';
import { RunRouter, type PanelSink } from '../../../src/vscode/panel/runRouter';
import { fixtureRun } from './fixture';

const tmp = mkdtempSync(path.join(tmpdir(), 'alloclab-router-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a run folder the way the run store lays it out, so the router reads it with the real openRun. */
function writeRunFolder(run: RunSnapshot, dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'run.json'), JSON.stringify(run.record));
  for (const e of run.environments) {
    mkdirSync(path.join(dir, e.record.dir), { recursive: true });
    writeFileSync(path.join(dir, e.record.dir, 'samples.ndjson'), e.samples.map((s) => JSON.stringify(s) + '\n').join(''));
    writeFileSync(path.join(dir, e.record.dir, 'events.ndjson'), e.events.map((s) => JSON.stringify(s) + '\n').join(''));
  }
}

/** A panel that records what it was sent, as a webview would receive it (a JSON clone). */
class RecordingPanel implements PanelSink {
  visible = true;
  ready = false;
  readonly got: ToWebview[] = [];
  post(msg: ToWebview): void {
    const clone = JSON.parse(JSON.stringify(msg)) as unknown;
    assert.ok(isToWebview(clone), `the router sent an invalid message: ${JSON.stringify(msg).slice(0, 200)}`);
    this.got.push(clone);
  }
  last<T extends ToWebview['type']>(type: T): Extract<ToWebview, { type: T }> | undefined {
    return this.got.filter((m): m is Extract<ToWebview, { type: T }> => m.type === type).at(-1);
  }
}

function counting(): { read: (dir: string) => RunSnapshot; calls: () => number } {
  let n = 0;
  return { read: (dir) => { n++; return openRun(dir); }, calls: () => n };
}

/** Replays the fixture as the engine reports a run: record first, then environments one after another. */
function liveFeed(full: RunSnapshot): { start: RunRecord; steps: ((r: RunRouter, dir: string) => void)[] } {
  const start: RunRecord = { ...full.record, complete: false, verdict: null, environments: [] };
  const steps: ((r: RunRouter, dir: string) => void)[] = [];
  full.environments.forEach((env, i) => {
    steps.push((r, dir) => r.record(dir, { ...start, environments: full.record.environments.slice(0, i + 1).map((e, k) => (k === i ? { ...e, metrics: null, exit: null } : e)) }));
    for (let k = 0; k < env.samples.length; k += 10) steps.push((r, dir) => r.samples(dir, i, env.samples.slice(k, k + 10)));
    for (const ev of env.events) steps.push((r, dir) => r.event(dir, i, ev));
  });
  return { start, steps };
}

test('a live run: nothing before ready, increments while visible, a full snapshot when visible again', () => {
  const full = fixtureRun(100);
  const dir = path.join(tmp, 'live-1');
  const { start, steps } = liveFeed(full);
  const io = counting();
  const router = new RunRouter(io.read);
  const panel = new RecordingPanel();
  router.attach(dir, panel);
  router.begin(dir, start);
  assert.equal(panel.got.length, 0, 'sent before the webview was ready');
  panel.ready = true;
  router.sendSnapshot(dir);
  assert.equal(panel.last('snapshot')?.run.live, true);

  const third = Math.floor(steps.length / 3);
  steps.slice(0, third).forEach((s) => s(router, dir));
  const sentWhileVisible = panel.got.length;
  assert.ok(panel.got.some((m) => m.type === 'samples') && panel.got.some((m) => m.type === 'record'));

  panel.visible = false;
  steps.slice(third, 2 * third).forEach((s) => s(router, dir));
  assert.equal(panel.got.length, sentWhileVisible, 'a hidden panel got increments');

  panel.visible = true;
  router.sendSnapshot(dir);
  const snap = panel.last('snapshot')!.run;
  // The snapshot holds everything that arrived, also while hidden.
  const mirrored = snap.environments.reduce((a, e) => a + e.samples.length, 0);
  // Replaying the same steps on a second router with an always-visible panel counts what was pushed.
  const probe = new RunRouter(io.read);
  const always = new RecordingPanel();
  always.ready = true;
  probe.attach(dir, always);
  probe.begin(dir, start);
  steps.slice(0, 2 * third).forEach((s) => s(probe, dir));
  const pushed = always.got.reduce((a, m) => a + (m.type === 'samples' ? m.samples.length : 0), 0);
  assert.ok(pushed > 0);
  assert.equal(mirrored, pushed);
  assert.equal(io.calls(), 0, 'a live run was read from disk');
});

test('closing the panel mid-run keeps the run; reopening shows all of it; a finished run is then read from disk', () => {
  const full = fixtureRun(100);
  const dir = path.join(tmp, 'live-2');
  const { start, steps } = liveFeed(full);
  const io = counting();
  const router = new RunRouter(io.read);
  const first = new RecordingPanel();
  first.ready = true;
  router.attach(dir, first);
  router.begin(dir, start);
  const half = Math.floor(steps.length / 2);
  steps.slice(0, half).forEach((s) => s(router, dir));
  router.detach(dir, first);
  const before = first.got.length;
  steps.slice(half).forEach((s) => s(router, dir));
  assert.equal(first.got.length, before, 'a closed panel still got messages');
  assert.equal(router.liveDir, path.resolve(dir));

  const second = new RecordingPanel();
  second.ready = true;
  router.attach(dir, second);
  router.sendSnapshot(dir);
  const snap = second.last('snapshot')!.run;
  assert.deepEqual(snap.environments.map((e) => e.samples.length), full.environments.map((e) => e.samples.length));
  assert.deepEqual(snap.environments.map((e) => e.events.length), full.environments.map((e) => e.events.length));

  // The run ends: the record says complete, the panel hears it, and the run is no longer "live".
  writeRunFolder(full, dir);
  router.record(dir, full.record);
  assert.equal(second.last('record')?.record.complete, true);
  assert.equal(router.liveDir, null);
  router.detach(dir, second);
  assert.equal(router.isMirrored(dir), false, 'a finished run stayed in memory after its panel closed');

  const third = new RecordingPanel();
  third.ready = true;
  router.attach(dir, third);
  router.sendSnapshot(dir);
  router.sendSnapshot(dir);
  assert.equal(io.calls(), 1, 'the stored run is read once per panel');
  const stored = third.last('snapshot')!.run;
  assert.equal(stored.live, false);
  assert.equal(stored.record.verdict, full.record.verdict);
  assert.equal(stored.environments[0].samples.length, full.environments[0].samples.length);
});

test('samples that arrive before the record names their environment are kept', () => {
  const full = fixtureRun(200);
  const dir = path.join(tmp, 'early');
  const router = new RunRouter(counting().read);
  const panel = new RecordingPanel();
  panel.ready = true;
  router.attach(dir, panel);
  router.begin(dir, { ...full.record, complete: false, environments: [] });
  router.samples(dir, 0, full.environments[0].samples.slice(0, 5));
  router.event(dir, 0, full.environments[0].events[0]);
  assert.equal(panel.got.filter((m) => m.type === 'samples').length, 0, 'samples for an unknown environment were sent');
  router.record(dir, { ...full.record, complete: false, environments: [full.record.environments[0]] });
  const snap = panel.last('snapshot')!.run;
  assert.equal(snap.environments[0].samples.length, 5);
  assert.equal(snap.environments[0].events.length, 1);
});

test('a run folder that cannot be read is reported, not thrown', () => {
  const errors: string[] = [];
  const router = new RunRouter((d) => openRun(d), (e) => errors.push(e.message));
  const panel = new RecordingPanel();
  panel.ready = true;
  router.attach(path.join(tmp, 'missing'), panel);
  router.sendSnapshot(path.join(tmp, 'missing'));
  assert.equal(panel.got.length, 0);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /not a readable Allocator Lab run/);
});

test('theme broadcasts reach only visible, ready panels', () => {
  const router = new RunRouter(counting().read);
  const a = new RecordingPanel(), b = new RecordingPanel(), c = new RecordingPanel();
  a.ready = true;
  b.ready = true;
  b.visible = false;
  router.attach(path.join(tmp, 'a'), a);
  router.attach(path.join(tmp, 'b'), b);
  router.attach(path.join(tmp, 'c'), c);
  router.broadcast({ type: 'theme' });
  assert.deepEqual([a.got.length, b.got.length, c.got.length], [1, 0, 0]);
});
