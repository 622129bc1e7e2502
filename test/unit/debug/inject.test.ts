// Allocator environments injected into each debugger's launch-configuration shape, and checked against the
// adapter that really runs here (lldb-vscode-16 reads only the ["NAME=VALUE"] form).
import * as assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { discoverAllocators } from '../../../src/core/allocators';
import type { AllocatorProfile } from '../../../src/core/allocators';
import {
  DebugInjectionError, envShapeOf, injectEnvironment, readConfigEnv, toLldbDapLaunch, type LaunchConfig,
} from '../../../src/core/debug';
import { nativeProgram } from '../support/paths';
import { DapClient } from './dapClient';

const jemalloc = discoverAllocators().find((p) => p.id === 'jemalloc')!;
const JE = jemalloc.preload!;
const tunables: AllocatorProfile = { ...discoverAllocators().find((p) => p.id === 'glibc')!, id: 'arena2', env: { MALLOC_ARENA_MAX: '2' }, preload: null, available: true };

describe('debug configuration injection', () => {
  it('finds jemalloc on this machine (the tests below need it)', () => {
    assert.ok(jemalloc.available, jemalloc.unavailableReason ?? '');
    assert.ok(JE.endsWith('libjemalloc.so.2'));
  });

  it('cppdbg: environment [{name, value}], user variables kept, user LD_PRELOAD after the allocator', () => {
    const cfg: LaunchConfig = {
      type: 'cppdbg', request: 'launch', name: 'svc', program: '/bin/true',
      environment: [{ name: 'A', value: '1' }, { name: 'LD_PRELOAD', value: '/opt/shim.so' }],
      'allocatorLab.environment': 'jemalloc',
    };
    const r = injectEnvironment(cfg, jemalloc);
    assert.deepEqual(r.config.environment, [{ name: 'A', value: '1' }, { name: 'LD_PRELOAD', value: `${JE}:/opt/shim.so` }]);
    assert.equal(r.config.env, undefined);
    assert.equal(r.config['allocatorLab.environment'], undefined, 'our key is not passed to the adapter');
    assert.deepEqual(r.applied, { LD_PRELOAD: JE });
    assert.deepEqual(cfg.environment, [{ name: 'A', value: '1' }, { name: 'LD_PRELOAD', value: '/opt/shim.so' }], 'input untouched');
  });

  it('CodeLLDB (lldb): env object; null entries dropped', () => {
    const r = injectEnvironment({ type: 'lldb', request: 'launch', program: '/bin/true', env: { B: '2', GONE: null } }, jemalloc);
    assert.deepEqual(r.config.env, { B: '2', LD_PRELOAD: JE });
  });

  it('gdb (native-debug): env object, profile variables without preload', () => {
    const r = injectEnvironment({ type: 'gdb', request: 'launch', target: '/bin/true', env: { MALLOC_ARENA_MAX: '8', X: 'y' } }, tunables);
    assert.deepEqual(r.config.env, { MALLOC_ARENA_MAX: '2', X: 'y' });
    assert.deepEqual(r.applied, { MALLOC_ARENA_MAX: '2' });
  });

  it('lldb-dap and lldb-vscode: env ["NAME=VALUE"], values with "=" kept whole', () => {
    for (const type of ['lldb-dap', 'lldb-vscode']) {
      const r = injectEnvironment({ type, request: 'launch', program: '/bin/true', env: ['OPTS=a=b', 'LD_PRELOAD=/opt/shim.so /opt/two.so'] }, jemalloc);
      assert.deepEqual(r.config.env, ['OPTS=a=b', `LD_PRELOAD=${JE}:/opt/shim.so:/opt/two.so`]);
    }
  });

  it('alloclab-lldb: env object in our configuration, translated to the lldb-vscode launch arguments', () => {
    const r = injectEnvironment({ type: 'alloclab-lldb', request: 'launch', program: '/bin/true', args: ['-v'], env: { C: '3' }, stopOnEntry: true }, jemalloc);
    assert.deepEqual(r.config.env, { C: '3', LD_PRELOAD: JE });
    const launch = toLldbDapLaunch(r.config);
    assert.deepEqual(launch.env, ['C=3', `LD_PRELOAD=${JE}`]);
    assert.deepEqual(launch.args, ['-v']);
    assert.equal(launch.stopOnEntry, true);
    assert.throws(() => toLldbDapLaunch({ type: 'alloclab-lldb' }), /no "program"/);
  });

  it('a preload already listing the allocator is not doubled', () => {
    const r = injectEnvironment({ type: 'lldb', request: 'launch', env: { LD_PRELOAD: JE } }, jemalloc);
    assert.deepEqual(r.config.env, { LD_PRELOAD: JE });
  });

  it('refuses unknown types, attach requests, unavailable profiles and malformed env with a typed error', () => {
    assert.equal(envShapeOf('python'), null);
    assert.throws(() => injectEnvironment({ type: 'python', request: 'launch' }, jemalloc), (e) => e instanceof DebugInjectionError && /does not know how debug type "python"/.test(e.message) && e.message.includes(JE));
    assert.throws(() => injectEnvironment({ type: 'cppdbg', request: 'attach' }, jemalloc), /only launch configurations/);
    assert.throws(() => injectEnvironment({ type: 'cppdbg', request: 'launch' }, { ...jemalloc, available: false, unavailableReason: 'apt-get install libjemalloc2' }), /apt-get install libjemalloc2/);
    assert.throws(() => readConfigEnv({ type: 'cppdbg', name: 'n', environment: { A: '1' } }, 'name-value-array'), /not in the form cppdbg expects/);
    assert.throws(() => readConfigEnv({ type: 'lldb-dap', env: [1] }, 'string-array'), DebugInjectionError);
  });

  it('lldb-vscode-16 really passes the injected ["NAME=VALUE"] env to the debuggee (and ignores an object)', { skip: !existsSync('/usr/bin/lldb-vscode-16') && 'lldb-vscode-16 not installed' }, async () => {
    const printEnv = nativeProgram('print-env');
    const outputs: string[] = [];
    for (const form of ['array', 'object'] as const) {
      const base = { type: 'alloclab-lldb', request: 'launch', program: printEnv, env: { ALLOCLAB_DBG: 'x=1', LD_PRELOAD: '/nonexistent-user-shim.so' } };
      const injected = injectEnvironment(base, jemalloc).config;
      const launch = form === 'array' ? toLldbDapLaunch(injected) : injected;
      const c = new DapClient('/usr/bin/lldb-vscode-16');
      try {
        await c.request('initialize', { adapterID: 'alloclab-lldb', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
        const res = await c.request('launch', launch);
        assert.ok(res.success, res.message);
        await c.request('configurationDone');
        const proc = await c.waitEvent((e) => e.event === 'process');
        assert.ok(Number(proc.body?.systemProcessId) > 0, 'lldb-vscode reports the PID in its process event');
        await c.waitEvent((e) => e.event === 'exited' || e.event === 'terminated');
        await new Promise((r) => setTimeout(r, 200));
        outputs.push(c.output());
      } finally {
        c.kill();
      }
    }
    const vars = (s: string) => new Set(s.split('\0'));
    assert.ok(vars(outputs[0]).has('ALLOCLAB_DBG=x=1'), 'array form reaches the debuggee');
    assert.ok(vars(outputs[0]).has(`LD_PRELOAD=${JE}:/nonexistent-user-shim.so`));
    assert.ok(!vars(outputs[1]).has('ALLOCLAB_DBG=x=1'), 'lldb-vscode-16 ignores the object form: translation is needed');
  });
});
