// Extension tests entry for the untrusted-workspace instance (no --disable-workspace-trust): launch commands,
// invoked anyway (enablement only greys out menus), must refuse with a message and start nothing; viewers work.
// The host script watches the UI for the message meanwhile.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { Commands, EXTENSION_ID } from '../../src/vscode/constants';
import type { AllocatorLabApi } from '../../src/vscode/extension';
import type { SuiteResults } from './index';

const checks: [string, () => Promise<void>][] = [];
const check = (name: string, f: () => Promise<void>) => checks.push([name, f]);

let api: AllocatorLabApi;

check('the workspace is untrusted and the extension still activates', async () => {
  assert.equal(vscode.workspace.isTrusted, false);
  const ext = vscode.extensions.getExtension<AllocatorLabApi>(EXTENSION_ID);
  assert.ok(ext);
  api = await ext.activate();
  assert.ok((await vscode.commands.getCommands(true)).includes(Commands.RunScenario));
});

check('Run Scenario invoked anyway refuses: no run, no run folder', async () => {
  const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
  const scenario = fs.readdirSync(ws).find((f) => f.endsWith('.alloclab.json'));
  assert.ok(scenario, 'the host script wrote a scenario');
  // The refusal waits on its notification, so do not await the command: give it time, then look.
  const outcome = Promise.resolve(vscode.commands.executeCommand(Commands.RunScenario, vscode.Uri.file(path.join(ws, scenario))));
  const settled = await Promise.race([outcome.then((o) => ({ o })), new Promise((r) => setTimeout(() => r('pending'), 6000))]);
  if (settled !== 'pending') assert.equal((settled as { o: unknown }).o, undefined);
  assert.deepEqual(await api.activeRuns(), []);
  assert.equal(fs.existsSync(path.join(ws, '.alloclab')), false, 'no run folder written');
});

check('viewers work: Show Available Allocators answers from the engine', async () => {
  // listAllocators runs no target: allowed in restricted mode.
  const pid = await api.serverPid();
  assert.ok(pid > 0);
});

/** Called by VS Code's test runner. */
export async function run(): Promise<void> {
  // Every untrusted-workspace check runs (none depends on an optional tool): nothing is skipped.
  const results: SuiteResults = { passed: 0, failed: 0, failures: [], skipped: [] };
  for (const [name, f] of checks) {
    try {
      await f();
      results.passed++;
      console.log(`ok ${name}`);
    } catch (e) {
      results.failed++;
      results.failures.push({ title: `untrusted: ${name}`, error: (e as Error).stack ?? String(e) });
      console.log(`FAIL ${name}: ${(e as Error).message}`);
    }
  }
  if (process.env.ALLOCLAB_TEST_RESULTS) fs.writeFileSync(process.env.ALLOCLAB_TEST_RESULTS, JSON.stringify(results, null, 2));
  if (results.failed) throw new Error(`${results.failed} untrusted-workspace check(s) failed`);
}
