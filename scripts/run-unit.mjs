// Unit tests: Node's built-in runner over the bundled test files (dist/test/unit), spec output on the
// terminal, every skipped test with its reason, and a closing line "unit: N passed, N failed, N skipped".
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tap = join(tmpdir(), `alloclab-unit-${process.pid}.tap`);
const filter = process.argv.slice(2);
const args = ['--test', '--test-concurrency=1',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...(filter.length ? filter : ['dist/test/unit/'])];
const code = await new Promise((resolve) => spawn(process.execPath, args, { stdio: 'inherit' }).on('close', resolve));
let pass = 0, fail = 0, skip = 0;
try {
  const text = readFileSync(tap, 'utf8');
  pass = Number(/^# pass (\d+)/m.exec(text)?.[1] ?? 0);
  fail = Number(/^# fail (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# cancelled (\d+)/m.exec(text)?.[1] ?? 0);
  skip = Number(/^# skipped (\d+)/m.exec(text)?.[1] ?? 0) + Number(/^# todo (\d+)/m.exec(text)?.[1] ?? 0);
  // A skip does not fail the run, but it must say why: a machine missing a tool must not look all green.
  const skips = [...text.matchAll(/^\s*ok \d+ - (.*?) # (?:SKIP|TODO)\b ?(.*)$/gm)];
  if (skips.length) console.log(`\nskipped (${skips.length}):`);
  for (const [, name, reason] of skips) console.log(`  ${name}: ${reason.trim() || 'no reason given'}`);
  rmSync(tap, { force: true });
} catch {
  fail++;
}
if (code !== 0 && fail === 0) fail++;
console.log(`unit: ${pass} passed, ${fail} failed, ${skip} skipped`);
process.exitCode = code === 0 ? 0 : 1;
