// The same integration suite in VS Code desktop through @vscode/test-electron, for machines with network access
// (it downloads VS Code). Not used in CI here: scripts/vscode-host.mjs runs the suite in code-server instead.
//   node esbuild.mjs && node dist/test/integration/runTests.js
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';

async function main(): Promise<void> {
  const repo = path.resolve(__dirname, '..', '..', '..');
  const workspace = mkdtempSync(path.join(tmpdir(), 'alloclab-electron-ws-'));
  await runTests({
    version: '1.100.3',
    extensionDevelopmentPath: repo,
    extensionTestsPath: path.join(repo, 'dist', 'test', 'integration', 'index.js'),
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust'],
  });
}

// Only when run directly: esbuild bundles every file of test/integration, and index.js must not start this.
if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
