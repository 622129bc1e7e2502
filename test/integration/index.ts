// Entry of the integration suite inside a real VS Code extension host (extensionTestsPath points at the bundle
// of this file). Runs every dist/test/integration/suite/*.test.js with mocha and, when ALLOCLAB_TEST_RESULTS
// names a file (the host script sets it in code-server's environment), writes the counts there.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as util from 'node:util';
import Mocha from 'mocha';
import { skipReasons } from './support';

export interface SuiteResults {
  passed: number;
  failed: number;
  failures: { title: string; error: string }[];
  /** Tests that did not run, each with why (skipBecause in the test). */
  skipped: { title: string; reason: string }[];
}

/** Called by VS Code's test runner; resolves when every test passed, rejects otherwise. */
export async function run(): Promise<void> {
  // The extension host forwards console arguments unformatted; mocha's reporter relies on format strings.
  (Mocha.reporters.Base as unknown as { consoleLog: (...a: unknown[]) => void }).consoleLog = (...a: unknown[]) => console.log(util.format(...a));
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec' });
  const dir = path.join(__dirname, 'suite');
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort()) mocha.addFile(path.join(dir, f));
  const results: SuiteResults = { passed: 0, failed: 0, failures: [], skipped: [] };
  await new Promise<void>((resolve) => {
    const runner = mocha.run(() => resolve());
    runner.on('pass', () => results.passed++);
    runner.on('fail', (t, err: Error) => {
      results.failed++;
      results.failures.push({ title: t.fullTitle(), error: err?.stack ?? String(err) });
    });
    runner.on('pending', (t) => {
      const reason = skipReasons().get(t.fullTitle()) ?? 'no reason given (use skipBecause)';
      results.skipped.push({ title: t.fullTitle(), reason });
    });
  });
  for (const s of results.skipped) console.log(`skipped: ${s.title}: ${s.reason}`);
  console.log(`integration: ${results.passed} passed, ${results.failed} failed, ${results.skipped.length} skipped`);
  const out = process.env.ALLOCLAB_TEST_RESULTS;
  if (out) fs.writeFileSync(out, JSON.stringify(results, null, 2));
  if (results.failed) throw new Error(`${results.failed} integration test(s) failed`);
}
