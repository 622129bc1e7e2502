// package.json's contributions against the typed ids of src/vscode/constants.ts, and the vscode-free helpers
// of the extension (argument splitting, starter scenario, run comparison).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parseScenarioText } from '../../../src/core/stress/scenario';
import { splitArgs } from '../../../src/vscode/argv';
import { compareRunsMarkdown } from '../../../src/vscode/compareRuns';
import { allCommands, COMMAND_TABLE, launchCommands } from '../../../src/vscode/commandTable';
import { Commands } from '../../../src/vscode/constants';
import { starterScenario } from '../../../src/vscode/scenarioTemplate';
import { repoRoot } from '../support/paths';

interface Manifest {
  main: string;
  activationEvents?: string[];
  extensionKind?: string[];
  capabilities?: { untrustedWorkspaces?: { supported: string | boolean; restrictedConfigurations?: string[] } };
  contributes: {
    commands: { command: string; title: string; category?: string; enablement?: string }[];
    menus: Record<string, { command: string; when?: string }[]>;
    configuration: { properties: Record<string, { description?: string; markdownDescription?: string }> };
    views: Record<string, { id: string }[]>;
    viewsWelcome: { view: string; contents: string }[];
    jsonValidation: { fileMatch: string; url: string }[];
  };
}

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as Manifest;

test('contributes.commands and the command table name the same commands, both ways', () => {
  const declared = pkg.contributes.commands.map((c) => c.command);
  assert.equal(new Set(declared).size, declared.length, 'a command is declared twice in package.json');
  const table = new Set<string>(allCommands);
  for (const id of declared) assert.ok(table.has(id), `package.json declares ${id}, which is not in the command table`);
  for (const id of allCommands) assert.ok(declared.includes(id), `the command table has ${id}, which package.json does not declare`);
  assert.ok(allCommands.length > 0 && allCommands.every((id) => COMMAND_TABLE[id].needs === 'launch' || COMMAND_TABLE[id].needs === 'none'));
});

test('every command is in the "Allocator Lab" category with a title', () => {
  for (const c of pkg.contributes.commands) {
    assert.equal(c.category, 'Allocator Lab', c.command);
    assert.ok(c.title.length > 3, c.command);
  }
});

test('launch commands are disabled in untrusted workspaces, viewers are not', () => {
  for (const c of pkg.contributes.commands) {
    const isLaunch = launchCommands.includes(c.command as Commands);
    assert.equal(c.enablement === 'isWorkspaceTrusted', isLaunch, `${c.command} enablement ${c.enablement}`);
  }
  assert.equal(pkg.capabilities?.untrustedWorkspaces?.supported, 'limited');
  assert.ok(pkg.capabilities?.untrustedWorkspaces?.restrictedConfigurations?.includes('allocatorLab.customAllocators'));
  assert.deepEqual(pkg.extensionKind, ['workspace']);
});

test('menus and welcome views reference only declared commands and views', () => {
  const known = new Set(pkg.contributes.commands.map((c) => c.command));
  for (const [menu, items] of Object.entries(pkg.contributes.menus)) {
    for (const item of items) assert.ok(known.has(item.command), `${menu} -> ${item.command}`);
  }
  const views = new Set(Object.values(pkg.contributes.views).flat().map((v) => v.id));
  for (const w of pkg.contributes.viewsWelcome) {
    assert.ok(views.has(w.view), w.view);
    for (const m of w.contents.matchAll(/command:([\w.]+)/g)) {
      assert.ok(known.has(m[1]) || m[1].startsWith('workbench.'), m[1]);
    }
  }
  assert.ok(pkg.contributes.viewsWelcome.some((w) => w.contents.includes(`command:${Commands.RunScenario}`)));
  assert.ok(pkg.contributes.viewsWelcome.some((w) => w.contents.includes(`command:${Commands.CompareAllocators}`)));
});

test('settings are described and the scenario schema is wired to *.alloclab.json', () => {
  const props = pkg.contributes.configuration.properties;
  for (const key of ['runsDirectory', 'defaultEnvironments', 'samplingIntervalMs', 'customAllocators', 'librarySearchPaths']) {
    const p = props[`allocatorLab.${key}`];
    assert.ok(p, key);
    assert.ok((p.description ?? p.markdownDescription ?? '').length > 20, `${key} has no description`);
  }
  assert.ok(pkg.contributes.jsonValidation.some((j) => j.fileMatch === '*.alloclab.json' && j.url === './schema/scenario.schema.json'));
  assert.equal(pkg.main, './dist/extension.js');
});

test('the starter scenario is valid for the real scenario parser', () => {
  const s = parseScenarioText(starterScenario('my service!'), 'starter.alloclab.json');
  assert.equal(s.name, 'my_service_');
  assert.ok(s.phases.some((p) => p.kind === 'idle'));
  assert.deepEqual(s.target.args, ['--port', '${port}']);
});

test('splitArgs groups quotes and keeps $() and empty quoted args verbatim', () => {
  assert.deepEqual(splitArgs(''), []);
  assert.deepEqual(splitArgs('  --port 8080  '), ['--port', '8080']);
  assert.deepEqual(splitArgs(`--name "a b" 'c "d"' '$(rm -rf /)' $(x) ""`), ['--name', 'a b', 'c "d"', '$(rm -rf /)', '$(x)', '']);
  assert.deepEqual(splitArgs('a\\ b "x\\"y"'), ['a b', 'x"y']);
});

test('compareRunsMarkdown lists every environment of both runs', () => {
  const env = (name: string, peak: number) => ({
    env: name, label: name, dir: `01-${name}`, repetition: 1, appliedEnv: {}, pid: 1, startedAt: '', durationMs: 1,
    verification: null, exit: null, error: null,
    metrics: { samples: 3, peakRssBytes: peak, finalRssBytes: peak, growthBytesPerMin: 0, returnedFraction: null, throughputRps: null, latencyP99Ms: null, requests: null, peakBytesPerRequest: null, phases: [] },
  });
  const md = compareRunsMarkdown(
    { dir: '/r/a', record: { name: 'a', createdAt: 't1', verdict: 'jemalloc wins', environments: [env('glibc', 100 * 1048576), env('jemalloc', 50 * 1048576)] } },
    { dir: '/r/b', record: { name: 'b', createdAt: 't2', verdict: null, environments: [env('mimalloc', 30 * 1048576)] } },
  );
  assert.match(md, /\| glibc \| 100\.0 MiB/);
  assert.match(md, /\| jemalloc \| 50\.0 MiB/);
  assert.match(md, /\| mimalloc \| 30\.0 MiB/);
  assert.match(md, /jemalloc wins/);
});
