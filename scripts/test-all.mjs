// Runs every test suite in turn (unit tests in plain Node, then the suites that need a real VS Code and
// Chromium), echoes their output, and ends with one line over all of them: `N passed, N failed, N skipped`.
// Each suite is a command whose output ends with a line "<suite>: N passed, N failed, N skipped" (and prints each
// skip with its reason). A skip does not fail the run; a suite that reports no skipped count is counted as 0.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const suites = [
  { name: 'unit', cmd: ['node', 'scripts/run-unit.mjs'] },
  { name: 'report-ui', cmd: ['node', 'dist/test/ui/report.js'], optional: 'dist/test/ui/report.js' },
  { name: 'vscode', cmd: ['node', 'scripts/vscode-host.mjs', 'test'], optional: 'scripts/vscode-host.mjs' },
];
const only = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
for (const suite of suites) {
  if (only.length && !only.includes(suite.name)) continue;
  if (suite.optional && !existsSync(suite.optional)) {
    console.log(`${suite.name}: suite missing (${suite.optional}) -- counted as one failure`);
    failed++;
    continue;
  }
  const started = Date.now();
  const { code, lastCount } = await new Promise((resolve) => {
    const child = spawn(suite.cmd[0], suite.cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let lastCount = null;
    let buf = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const line of lines) {
        const m = /^(?:[\w-]+: )?(\d+) passed, (\d+) failed(?:, (\d+) skipped)?/.exec(line.trim());
        if (m) lastCount = { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3] ?? 0) };
      }
    });
    child.on('close', (code) => resolve({ code, lastCount }));
  });
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  if (!lastCount) {
    console.log(`${suite.name}: no result line (exit ${code}) -- counted as one failure [${secs}s]`);
    failed++;
    continue;
  }
  passed += lastCount.passed;
  failed += lastCount.failed;
  skipped += lastCount.skipped;
  if (code !== 0 && lastCount.failed === 0) {
    console.log(`${suite.name}: exited ${code} with no failed test -- counted as one failure`);
    failed++;
  }
  console.log(`[${suite.name} took ${secs}s]`);
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed ? 1 : 0;
