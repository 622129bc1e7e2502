// The fast subset of the labelled corpus (native/diagnosis, truth files with "ci": true), run as a user runs it:
// `alloclab run SCENARIO --json`, and `diagnosis.finding` must be the truth. Shortened where the finding does not
// depend on the length (one environment, --duration or --until-settled); the full corpus, every environment and
// repetition, is bench/diagnosis.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { nativeProgram, repoRoot } from '../support/paths';

const cli = path.join(repoRoot, 'bin', 'alloclab');
const casesDir = path.join(repoRoot, 'native', 'diagnosis', 'cases');
const out = fs.mkdtempSync(path.join(os.tmpdir(), 'alloclab-corpus-'));

interface Truth { case: string; program: string; scenario: string; expected: { withoutLedger: string; withLedger: string }; ci?: boolean }

function truth(name: string): Truth {
  return JSON.parse(fs.readFileSync(path.join(casesDir, `${name}.truth.json`), 'utf8')) as Truth;
}

/** Runs a corpus case through the CLI; returns the diagnosis of its --json document. */
function diagnose(t: Truth, extra: string[]): { finding: string; summary: string } {
  nativeProgram(t.program);
  const r = spawnSync(process.execPath, [cli, 'run', path.join(casesDir, t.scenario), '--json', '--out', path.join(out, `${t.case}-${extra.join('')}`), ...extra],
    { encoding: 'utf8', timeout: 120_000, maxBuffer: 32 << 20 });
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { diagnosis?: { finding: string; summary: string } };
  assert.ok(doc.diagnosis, 'the --json document has no diagnosis');
  return doc.diagnosis;
}

test('the CI subset is the cases marked "ci" in their truth files', () => {
  const marked = fs.readdirSync(casesDir).filter((f) => f.endsWith('.truth.json')).map((f) => JSON.parse(fs.readFileSync(path.join(casesDir, f), 'utf8')) as Truth)
    .filter((t) => t.ci).map((t) => t.case).sort();
  assert.deepEqual(marked, ['flat-service', 'mmap-growth', 'steady-leak', 'too-short']);
});

test('too-short: 2 s of a filling cache is inconclusive, and says what would decide it', () => {
  const t = truth('too-short');
  const d = diagnose(t, []);
  assert.equal(d.finding, t.expected.withoutLedger, d.summary);
});

test('flat-service: stable, and --until-settled finds it without running the whole phase', () => {
  const t = truth('flat-service');
  const d = diagnose(t, ['--env', 'glibc', '--until-settled']);
  assert.equal(d.finding, t.expected.withoutLedger, d.summary);
});

test('steady-leak with the ledger: a leak', () => {
  const t = truth('steady-leak');
  const d = diagnose(t, ['--env', 'glibc', '--ledger', '--duration', '20s']);
  assert.equal(d.finding, t.expected.withLedger, d.summary);
});

test('mmap-growth with the ledger: growth outside the heap, not a leak of the heap', () => {
  const t = truth('mmap-growth');
  const d = diagnose(t, ['--env', 'glibc', '--ledger', '--duration', '20s']);
  assert.equal(d.finding, t.expected.withLedger, d.summary);
});
