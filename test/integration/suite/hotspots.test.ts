// Hotspots in a real VS Code: Profile Allocation Sites on native/build/proftest-sites with jemalloc-prof ->
// the top hotspot is the line marked SITE:leak in native/proftest/sites.c, a CodeLens is on that line, the
// Hotspots view lists it, opening it reveals the line; switching the profile and clearing leave no stale lens.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Commands, EXTENSION_ID } from '../../../src/vscode/constants';
import type { AllocatorLabApi } from '../../../src/vscode/extension';
import type { HotspotsState } from '../../../src/protocol/lsp';
import { openProfile } from '../../../src/core/profilers';
import { until } from '../support';

const repo = path.resolve(__dirname, '..', '..', '..', '..');
const binary = path.join(repo, 'native', 'build', 'proftest-sites');
const sitesC = path.join(repo, 'native', 'proftest', 'sites.c');
const fixtures = path.join(repo, 'test', 'fixtures', 'profiles');

function markerLine(role: string): number {
  const i = fs.readFileSync(sitesC, 'utf8').split('\n').findIndex((l) => l.includes(`SITE:${role} `));
  assert.ok(i >= 0, `SITE:${role} marker in sites.c`);
  return i + 1;
}

/** The recorded heaptrack fixture, rebased from the checkout it was recorded in onto this one. */
async function rebasedFixture(): Promise<string> {
  const p = await openProfile(path.join(fixtures, 'heaptrack.sites.zst'));
  const recorded = p.sites.flatMap((s) => s.frames).find((f) => f.file?.endsWith('/sites.c'))?.file;
  assert.ok(recorded, 'the fixture names sites.c with its folder');
  const from = path.dirname(recorded);
  const to = path.dirname(sitesC);
  for (const s of p.sites) for (const f of s.frames) if (f.file?.startsWith(from + '/')) f.file = to + f.file.slice(from.length);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-fixture-')), 'heaptrack.profile.json');
  fs.writeFileSync(out, JSON.stringify(p));
  return out;
}


async function ourLenses(uri: vscode.Uri): Promise<vscode.CodeLens[]> {
  const all = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri)) ?? [];
  return all.filter((l) => l.command?.title.startsWith('Allocator Lab'));
}

describe('Hotspots in VS Code', function () {
  let api: AllocatorLabApi;
  const uri = vscode.Uri.file(sitesC);
  const LEAK = markerLine('leak');

  before(async function () {
    this.timeout(60_000);
    const ext = vscode.extensions.getExtension<AllocatorLabApi>(EXTENSION_ID);
    assert.ok(ext);
    api = await ext.activate();
    assert.ok(fs.existsSync(binary), `${binary} is built (make -C native)`);
  });

  it('Profile Allocation Sites (jemalloc-prof): the leaking line is the top hotspot, with a lens, in the tree, and opens', async function () {
    this.timeout(90_000);
    const state = await vscode.commands.executeCommand<HotspotsState | undefined>(Commands.ProfileAllocationSites, vscode.Uri.file(binary),
      { backend: 'jemalloc-prof', args: [], durationMs: 3000, lgProfInterval: 20, noPanel: true });
    assert.ok(state, 'the command activated a profile');
    assert.equal(state.backend, 'jemalloc-prof');
    const top = state.hotspots[0];
    assert.equal(`${path.basename(top.file ?? '')}:${top.line}`, `sites.c:${LEAK}`, `top hotspot ${top.function} ${top.file}:${top.line}`);
    assert.equal(top.workspaceFile, sitesC);

    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.languageId, 'c');
    const lenses = await until('a lens on the leaking line', 20_000, async () => {
      const l = (await ourLenses(uri)).filter((x) => x.range.start.line === LEAK - 1);
      return l.length ? l : undefined;
    });
    assert.match(lenses[0].command!.title, /^Allocator Lab #1: \+[\d.]+ MiB\/min · ~[\d.]+k? allocs · ~[\d.]+ MiB at peak$/);

    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, new vscode.Position(LEAK - 1, 4));
    const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(text, /Allocator Lab hotspot #1/);
    assert.match(text, /leak\\_step/);

    const items = api.hotspots().items;
    assert.match(items[0].label, /^#1 leak_step$/);
    assert.match(items[0].description, new RegExp(`^sites\\.c:${LEAK} · `));
    assert.equal(items[0].opens, true);

    const editor = await vscode.commands.executeCommand<vscode.TextEditor | undefined>(Commands.OpenHotspot, 1);
    assert.ok(editor);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, sitesC);
    assert.equal(vscode.window.activeTextEditor?.selection.active.line, LEAK - 1);
  });

  it('on the demo service, the top hotspot is a line of its own sources, with a lens there, and the CLI ranks the same line first', async function () {
    this.timeout(120_000);
    const demo = path.join(repo, 'native', 'build', 'demo-controller');
    assert.ok(fs.existsSync(demo), `${demo} is built (make -C native)`);
    const state = await vscode.commands.executeCommand<HotspotsState | undefined>(Commands.ProfileAllocationSites, vscode.Uri.file(demo),
      { backend: 'jemalloc-prof', args: ['--self-load', '60', '--threads', '8', '--members', '5000000'], durationMs: 8000, lgProfInterval: 20, noPanel: true });
    assert.ok(state, 'the command activated a profile');
    const top = state.hotspots[0];
    assert.ok(top.file && path.dirname(top.workspaceFile ?? top.file) === path.join(repo, 'native', 'demo-controller'),
      `top hotspot ${top.function} ${top.file}:${top.line} is in the demo's own sources`);
    assert.ok((top.growthBytesPerMin ?? 0) > 0, 'it grows');
    const src = vscode.Uri.file(top.workspaceFile ?? top.file);
    await vscode.workspace.openTextDocument(src);
    const lens = await until('a lens on the top hotspot line', 20_000, async () =>
      (await ourLenses(src)).find((l) => l.range.start.line === top.line! - 1 && /#1:/.test(l.command!.title)));
    assert.match(lens.command!.title, /MiB\/min/);
    // The CLI over the same run folder names the same line first.
    const cli = spawnSync(process.execPath, [path.join(repo, 'bin', 'alloclab'), 'hotspots', state.source, '--json', '--top', '1'], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout) as { hotspots: { file: string; line: number }[] };
    assert.equal(`${path.basename(printed.hotspots[0].file)}:${printed.hotspots[0].line}`, `${path.basename(top.file)}:${top.line}`);
  });

  it('switching to another profile replaces the lenses; ranking by calls moves the top to the churn line', async function () {
    this.timeout(30_000);
    const state = await vscode.commands.executeCommand<HotspotsState | undefined>(Commands.OpenProfile, await rebasedFixture());
    assert.ok(state);
    assert.equal(state.backend, 'heaptrack');
    await until('heaptrack lenses (with what was not freed at exit)', 10_000, async () => ((await ourLenses(uri)).some((l) => /not freed at exit$/.test(l.command!.title)) ? true : undefined));
    assert.ok((await ourLenses(uri)).every((l) => !/~/.test(l.command!.title)), 'no stale jemalloc (sampled) lens');
    const byCalls = await vscode.commands.executeCommand<HotspotsState | undefined>(Commands.HotspotsRankBy, 'calls');
    assert.equal(byCalls?.hotspots[0].line, markerLine('churn'));
    await until('the #1 lens on the churn line', 10_000, async () =>
      ((await ourLenses(uri)).some((l) => l.range.start.line === markerLine('churn') - 1 && /#1:/.test(l.command!.title)) ? true : undefined));
  });

  it('Clear Hotspots removes every lens and empties the view', async function () {
    this.timeout(20_000);
    await vscode.commands.executeCommand(Commands.ClearHotspots);
    await until('no Allocator Lab lens', 10_000, async () => ((await ourLenses(uri)).length === 0 ? true : undefined));
    assert.equal(api.hotspots().state, null);
    assert.deepEqual(api.hotspots().items, []);
  });
});
