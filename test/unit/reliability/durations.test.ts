// Durations past Node's timer range (2^31 ms fires after 1 ms) and empty ones are input errors, everywhere a
// duration is read: the CLI options, scenario phases, ready timeouts and request timeouts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { ScenarioError } from '../../../src/core/errors';
import { parseScenarioText } from '../../../src/core/stress/scenario';
import { MAX_DURATION_MS, parseDuration, parsePositiveDuration } from '../../../src/core/units';
import { runCli, tempDir } from './support';

test('parseDuration accepts up to 7 days and refuses more with the limit in the message', () => {
  assert.equal(parseDuration('168h'), MAX_DURATION_MS);
  assert.equal(parseDuration(`${MAX_DURATION_MS}ms`), MAX_DURATION_MS);
  assert.ok(MAX_DURATION_MS < 2 ** 31);
  for (const text of ['169h', '9999h', '2147484s', `${MAX_DURATION_MS + 1}ms`, '99999999999999999999999m']) {
    assert.throws(() => parseDuration(text), /maximum of 7 days/, text);
  }
  assert.equal(parseDuration('0s'), 0);
  assert.throws(() => parsePositiveDuration('0s'), /greater than zero/);
  assert.throws(() => parsePositiveDuration('0.0ms'), /greater than zero/);
});

interface ScenarioDoc { target: { ready: Record<string, string> }; phases: { duration: string; load: Record<string, string> }[] }

function scenarioWith(patch: (s: ScenarioDoc) => void): string {
  const s = {
    name: 'd', target: { command: '/bin/true', ready: { delay: '1s' } },
    phases: [{ name: 'load', kind: 'load', duration: '1s', load: { driver: 'http', url: 'http://127.0.0.1:${port}/' } }],
  };
  patch(s);
  return JSON.stringify(s, null, 2);
}

test('a scenario duration over 7 days is a scenario error at its line', () => {
  const cases: [string, (s: ScenarioDoc) => void, RegExp][] = [
    ['phase', (s) => (s.phases[0].duration = '2147484s'), /phases\.0\.duration: at most 7 days/],
    ['ready timeout', (s) => (s.target.ready.timeout = '9999h'), /target\.ready\.timeout: at most 7 days/],
    ['ready delay', (s) => (s.target.ready.delay = '200h'), /target\.ready\.delay: at most 7 days/],
    ['request timeout', (s) => (s.phases[0].load.timeout = '100000m'), /phases\.0\.load\.timeout: at most 7 days/],
  ];
  for (const [what, patch, message] of cases) {
    const text = scenarioWith(patch);
    assert.throws(() => parseScenarioText(text, 'd.alloclab.json'), (e: unknown) => {
      assert.ok(e instanceof ScenarioError, what);
      assert.match(e.message, message, what);
      assert.ok(e.line > 1, `${what}: points into the file, not at its start`);
      return true;
    });
  }
  assert.throws(() => parseScenarioText(scenarioWith((s) => (s.phases[0].duration = '0s')), 'd.alloclab.json'), /greater than zero/);
  assert.doesNotThrow(() => parseScenarioText(scenarioWith((s) => (s.phases[0].duration = '168h')), 'd.alloclab.json'));
});

test('the CLI refuses huge and zero durations and an empty --env with exit 2, before running anything', () => {
  const cwd = tempDir('durations');
  const runsDir = path.join(cwd, 'runs');
  const scenario = path.join(cwd, 'd.alloclab.json');
  fs.writeFileSync(scenario, scenarioWith((s) => (s.phases[0].duration = '2147484s')));
  const checks: [string[], RegExp][] = [
    [['compare', '--runs-dir', runsDir, '--env', 'glibc', '--duration', '9999h', '--', '/bin/sleep', '1'], /--duration: .*maximum of 7 days/],
    [['compare', '--runs-dir', runsDir, '--env', 'glibc', '--duration', '0s', '--', '/bin/sleep', '1'], /--duration: .*greater than zero/],
    [['compare', '--runs-dir', runsDir, '--env', ',', '--duration', '1s', '--', '/bin/sleep', '1'], /--env "," names no environment/],
    [['compare', '--runs-dir', runsDir, '--env', 'glibc', '--interval', '9999999999', '--', '/bin/sleep', '1'], /--interval/],
    [['run', scenario, '--runs-dir', runsDir], /phases\.0\.duration: at most 7 days/],
    [['watch', String(process.pid), '--runs-dir', runsDir, '--duration', '2147484s'], /--duration: .*maximum of 7 days/],
    [['watch', String(process.pid), '--runs-dir', runsDir, '--duration', '0ms'], /--duration: .*greater than zero/],
    [['profile', '--runs-dir', runsDir, '--duration', '9999h', '--', '/bin/true'], /--duration: .*maximum of 7 days|not available/],
  ];
  for (const [args, message] of checks) {
    const r = runCli(args, cwd, 30_000);
    assert.equal(r.signal, null, `${args.join(' ')}: ended by itself`);
    assert.match(r.stderr, message, args.join(' '));
    assert.equal(r.status, message.source.includes('not available') && /not available/.test(r.stderr) ? 1 : 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const runScenario = runCli(['run', scenario, '--runs-dir', runsDir, '--env', ','], cwd);
  assert.equal(runScenario.status, 2);
  assert.equal(fs.existsSync(runsDir), false, 'no run was started');
});
