// The extension inside a real VS Code: activation, commands, a real run through the language server, stop,
// recovery from an engine crash, the runs store, and schema diagnostics from the JSON language service.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { openRun } from '../../../src/core/runs/store';
import { allCommands } from '../../../src/vscode/commandTable';
import { Commands, EXTENSION_ID, type RunOutcome } from '../../../src/vscode/constants';
import type { AllocatorLabApi } from '../../../src/vscode/extension';
import { until } from '../support';

const repo = path.resolve(__dirname, '..', '..', '..', '..');
const demo = path.join(repo, 'native', 'build', 'demo-controller');

function workspace(): string {
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(ws, 'the test host opens a workspace folder');
  return ws;
}

/** A short scenario: the demo service under HTTP load when it is built, else /bin/sleep with no load. */
function writeScenario(name: string, loadMs: number): vscode.Uri {
  const useDemo = fs.existsSync(demo);
  const scenario = useDemo
    ? {
      name,
      target: { command: demo, args: ['--port', '${port}', '--threads', '4', '--cache-mb', '16'], ready: { tcpPort: '${port}', timeout: '20s' } },
      environments: ['glibc', 'jemalloc'],
      sampling: { intervalMs: 50 },
      phases: [
        { name: 'load', kind: 'load', duration: `${loadMs}ms`, load: { driver: 'http', method: 'POST', url: 'http://127.0.0.1:${port}/members', concurrency: 4, body: '{"member":"m{{counter}}","groups":["core"],"vlan":42}' } },
        { name: 'idle', kind: 'idle', duration: '500ms' },
      ],
    }
    : {
      name,
      target: { command: '/bin/sleep', args: ['600'], ready: { delay: '100ms' } },
      environments: ['glibc', 'jemalloc'],
      sampling: { intervalMs: 50 },
      phases: [{ name: 'run', kind: 'load', duration: `${loadMs}ms` }],
    };
  const file = path.join(workspace(), `${name}.alloclab.json`);
  fs.writeFileSync(file, JSON.stringify(scenario, null, 2));
  return vscode.Uri.file(file);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}


/** The pids of the targets a run has spawned so far (from the environment folders' events). */
function spawnedPids(runDir: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync(runDir)) {
    const ev = path.join(runDir, d, 'events.ndjson');
    if (!fs.existsSync(ev)) continue;
    for (const line of fs.readFileSync(ev, 'utf8').split('\n')) {
      if (line.includes('"spawn"')) out.push((JSON.parse(line) as { pid: number }).pid);
    }
  }
  return out;
}

describe('Allocator Lab in VS Code', function () {
  let api: AllocatorLabApi;

  before(async function () {
    this.timeout(60_000);
    const ext = vscode.extensions.getExtension<AllocatorLabApi>(EXTENSION_ID);
    assert.ok(ext, `${EXTENSION_ID} is installed in the host`);
    api = await ext.activate();
  });

  it('activates and registers every command', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = allCommands.filter((c) => !registered.has(c));
    assert.deepEqual(missing, []);
    assert.ok((await api.serverPid()) > 0);
  });

  it('runs a short scenario with two environments and saves a finished run with samples', async function () {
    this.timeout(90_000);
    const uri = writeScenario('it-two-envs', 2000);
    const outcome = await vscode.commands.executeCommand<RunOutcome>(Commands.RunScenario, uri, { environments: ['glibc', 'jemalloc'] });
    assert.ok(outcome, 'the command returned an outcome');
    assert.equal(outcome.error, null, outcome.error ?? '');
    assert.equal(outcome.complete, true);
    assert.ok(outcome.runDir);
    const run = openRun(outcome.runDir);
    assert.deepEqual(run.record.environments.map((e) => e.env), ['glibc', 'jemalloc']);
    for (const env of run.environments) {
      assert.ok(env.samples.length >= 10, `${env.record.env}: ${env.samples.length} samples`);
      assert.ok(env.samples.every((s) => s.rssBytes > 0));
    }
    assert.match(run.record.environments[1].verification?.mappedAllocator ?? '', /jemalloc/);
    assert.ok(api.savedRuns().some((r) => r.dir === outcome.runDir), 'listed in the runs folder');
    for (const pid of spawnedPids(outcome.runDir)) assert.equal(alive(pid), false, `target ${pid} stopped`);
  });

  it('Stop Run cancels the run in flight and keeps what was recorded', async function () {
    this.timeout(60_000);
    const uri = writeScenario('it-stop', 60_000);
    const pending = vscode.commands.executeCommand<RunOutcome>(Commands.RunScenario, uri, { environments: ['glibc'], noPanel: true });
    await until('the run to start sampling', 20_000, async () => (await api.activeRuns()).length === 1 && api.savedRuns().some((r) => r.name === 'it-stop' && spawnedPids(r.dir).length > 0));
    assert.equal(await vscode.commands.executeCommand<boolean>(Commands.StopRun), true);
    const outcome = await pending;
    assert.ok(outcome);
    assert.equal(outcome.cancelled, true);
    assert.equal(outcome.error, null);
    assert.ok(outcome.runDir);
    for (const pid of spawnedPids(outcome.runDir)) assert.equal(alive(pid), false, `target ${pid} stopped`);
  });

  it('recovers when the engine dies mid-run: run reported interrupted, target killed, engine restarted', async function () {
    this.timeout(60_000);
    const uri = writeScenario('it-crash', 60_000);
    const before = await api.serverPid();
    const pending = vscode.commands.executeCommand<RunOutcome>(Commands.RunScenario, uri, { environments: ['glibc'], noPanel: true });
    const runDir = await until('the target to spawn', 20_000, () => api.savedRuns().find((r) => r.name === 'it-crash' && spawnedPids(r.dir).length > 0)?.dir);
    const [target] = spawnedPids(runDir);
    assert.equal(alive(target), true);
    process.kill(before, 'SIGKILL');
    const outcome = await pending;
    assert.ok(outcome);
    assert.match(outcome.error ?? '', /engine stopped unexpectedly/);
    assert.equal(outcome.complete, false);
    await until('the target to be killed', 5000, () => !alive(target));
    assert.equal(openRun(runDir).record.complete, false, 'the run stays marked incomplete');
    const after = await until('the engine to restart', 20_000, async () => {
      try {
        const pid = await api.serverPid();
        return pid !== before ? pid : undefined;
      } catch {
        return undefined;
      }
    });
    assert.notEqual(after, before);
  });

  it('Compare Allocators for Binary runs a binary under each environment with its arguments', async function () {
    this.timeout(60_000);
    const outcome = await vscode.commands.executeCommand<RunOutcome>(Commands.CompareAllocators, vscode.Uri.file('/bin/sleep'), undefined,
      { environments: ['glibc', 'jemalloc'], args: ['30'], durationMs: 800, noPanel: true });
    assert.ok(outcome?.runDir, outcome?.error ?? 'no outcome');
    assert.equal(outcome.complete, true);
    const run = openRun(outcome.runDir);
    assert.equal(run.record.kind, 'compare');
    assert.deepEqual(run.record.environments.map((e) => e.env), ['glibc', 'jemalloc']);
    const spawn = run.environments[0].events.find((e) => e.type === 'spawn');
    assert.ok(spawn && spawn.type === 'spawn');
    assert.deepEqual(spawn.args, ['30']);
  });

  it('Watch Process samples a process it did not start and saves it as a run', async function () {
    this.timeout(30_000);
    const { spawn } = await import('node:child_process');
    const sleeper = spawn('/bin/sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      const outcome = await vscode.commands.executeCommand<RunOutcome>(Commands.WatchProcess, sleeper.pid, { durationMs: 1500, noPanel: true });
      assert.ok(outcome?.runDir, outcome?.error ?? 'no outcome');
      const run = openRun(outcome.runDir);
      assert.equal(run.record.kind, 'watch');
      assert.equal(run.record.environments[0].pid, sleeper.pid);
      assert.ok(run.environments[0].samples.length >= 5, `${run.environments[0].samples.length} samples`);
    } finally {
      process.kill(-sleeper.pid!, 'SIGKILL');
    }
  });

  it('Open Run shows a panel; Compare Runs opens a side-by-side summary', async function () {
    this.timeout(30_000);
    const runs = api.savedRuns().filter((r) => r.complete);
    assert.ok(runs.length >= 2);
    await vscode.commands.executeCommand(Commands.OpenRun, { runDir: runs[0].dir });
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    await until('the run panel tab', 10_000, () => tabs().some((t) => t.input instanceof vscode.TabInputWebview && t.label.includes(runs[0].name)));
    await vscode.commands.executeCommand(Commands.CompareRuns, { runDir: runs[0].dir }, [{ runDir: runs[0].dir }, { runDir: runs[1].dir }]);
    const doc = await until('the comparison document', 10_000, () => vscode.workspace.textDocuments.find((d) => d.getText().startsWith('# Allocator Lab: run comparison')));
    assert.ok(doc.getText().includes(runs[1].dir));
  });

  it('deletes a run from the runs folder', async () => {
    const victim = api.savedRuns().find((r) => r.name === 'it-stop');
    assert.ok(victim);
    const n = await vscode.commands.executeCommand<number>(Commands.DeleteRun, { runDir: victim.dir }, undefined, { confirm: false });
    assert.equal(n, 1);
    assert.equal(fs.existsSync(victim.dir), false);
  });

  it('New Scenario writes a starter file that the scenario schema accepts', async function () {
    this.timeout(30_000);
    const uri = await vscode.commands.executeCommand<vscode.Uri>(Commands.NewScenario, vscode.Uri.file(workspace()));
    assert.ok(uri && fs.existsSync(uri.fsPath));
    const doc = await vscode.workspace.openTextDocument(uri);
    assert.equal(doc.languageId, 'jsonc');
    // Give the JSON language service time to validate; a valid starter must stay free of errors.
    await new Promise((r) => setTimeout(r, 3000));
    const errors = vscode.languages.getDiagnostics(uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error);
    assert.deepEqual(errors.map((d) => `${d.range.start.line + 1}: ${d.message}`), []);
  });

  it('the scenario schema flags an error on the right line', async function () {
    this.timeout(30_000);
    const file = path.join(workspace(), 'broken.alloclab.json');
    const lines = [
      '// a scenario with one mistake',
      '{',
      '  "name": "broken",',
      '  "target": { "command": "/bin/true" },',
      '  "phases": [',
      '    { "name": "p", "kind": "sprint", "duration": "1s" }',
      '  ]',
      '}',
    ];
    fs.writeFileSync(file, lines.join('\n'));
    const uri = vscode.Uri.file(file);
    await vscode.window.showTextDocument(uri);
    const diags = await until('schema diagnostics', 20_000, () => {
      const d = vscode.languages.getDiagnostics(uri);
      return d.length ? d : undefined;
    });
    const onKind = diags.find((d) => d.range.start.line === 5);
    assert.ok(onKind, `a diagnostic on line 6, got: ${diags.map((d) => `${d.range.start.line + 1}: ${d.message}`).join('; ')}`);
    assert.match(onKind.message, /warmup|load|idle/);
  });
});
