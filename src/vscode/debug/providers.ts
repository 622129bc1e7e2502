// Launch configurations that name an allocator environment get it injected in the form their debugger expects,
// and our own `alloclab-lldb` type runs Debian's lldb-vscode / lldb-dap with its launch arguments translated.
import * as vscode from 'vscode';
import { discoverAllocators } from '../../core/allocators';
import { guardLaunch, startWatchdog } from '../../core/os/groups';
import {
  ALLOCLAB_DEBUG_TYPE, ENVIRONMENT_KEY, findDebugAdapter, injectEnvironment, toLldbDapLaunch, type LaunchConfig,
} from '../../core/debug';
import { launchRefusal } from '../commandRegistry';
import { allocatorOptions, debugAdapterPath } from '../config';

/** Injects `allocatorLab.environment` into any debug type we know; undefined (launch aborted) with a message on error. */
export class AllocatorConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly log: vscode.LogOutputChannel) {}

  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    const id = config[ENVIRONMENT_KEY];
    if (id === undefined || id === null || id === '') return config;
    if (typeof id !== 'string') {
      void vscode.window.showErrorMessage(`Allocator Lab: "${ENVIRONMENT_KEY}" in "${config.name}" must be an environment id such as "jemalloc".`);
      return undefined;
    }
    const refusal = config.request === 'launch' ? launchRefusal() : null;
    if (refusal) {
      void vscode.window.showWarningMessage(refusal);
      return undefined;
    }
    const profiles = discoverAllocators(allocatorOptions() as Parameters<typeof discoverAllocators>[0]);
    const profile = profiles.find((p) => p.id === id);
    if (!profile) {
      void vscode.window.showErrorMessage(`Allocator Lab: unknown allocator environment "${id}" in launch configuration "${config.name}". Known: ${profiles.map((p) => p.id).join(', ')}.`);
      return undefined;
    }
    try {
      const r = injectEnvironment(config as LaunchConfig, profile);
      this.log.info(`[debug ${config.name}] ${id}: ${Object.entries(r.applied).map(([k, v]) => `${k}=${v}`).join(' ') || 'no variables'} (${config.type})`);
      // Kept in the configuration so the session's tracker knows what to verify; adapters ignore unknown keys.
      return { ...(r.config as vscode.DebugConfiguration), [ENVIRONMENT_KEY]: id };
    } catch (e) {
      void vscode.window.showErrorMessage(`Allocator Lab: ${(e as Error).message}`);
      return undefined;
    }
  }
}

/** `alloclab-lldb`: a default configuration for F5 without launch.json, and the translation to lldb-vscode's arguments. */
export class AlloclabLldbProvider implements vscode.DebugConfigurationProvider {
  resolveDebugConfiguration(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    if (!config.type && !config.request && !config.name) {
      void vscode.window.showInformationMessage('Add an "alloclab-lldb" configuration to launch.json (program, args, allocatorLab.environment), or use "Allocator Lab: Debug with Allocator…".');
      return undefined;
    }
    return { ...config, request: config.request ?? 'launch' };
  }

  resolveDebugConfigurationWithSubstitutedVariables(_folder: vscode.WorkspaceFolder | undefined, config: vscode.DebugConfiguration): vscode.DebugConfiguration | undefined {
    try {
      const launch = toLldbDapLaunch(config as LaunchConfig) as vscode.DebugConfiguration;
      // The tracker reads the environment from the session's configuration; lldb-dap ignores keys it does not know.
      if (config[ENVIRONMENT_KEY] !== undefined) launch[ENVIRONMENT_KEY] = config[ENVIRONMENT_KEY];
      return launch;
    } catch (e) {
      void vscode.window.showErrorMessage(`Allocator Lab: ${(e as Error).message}`);
      return undefined;
    }
  }
}

/** Runs lldb-dap / lldb-vscode for `alloclab-lldb`; says which package to install when there is none. */
export class AlloclabLldbAdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly log: vscode.LogOutputChannel) {}

  createDebugAdapterDescriptor(): vscode.DebugAdapterDescriptor {
    const explicitPath = debugAdapterPath();
    try {
      const found = findDebugAdapter({ explicitPath });
      this.log.info(`[debug] ${ALLOCLAB_DEBUG_TYPE} adapter: ${found.path}`);
      // Tagged and through the exec helper, with this host's watchdog: the adapter, and the debuggee that
      // inherits its environment, end with the extension host however it ends (core/os/groups.ts).
      startWatchdog();
      const guarded = guardLaunch(found.path, [], {});
      return new vscode.DebugAdapterExecutable(guarded.file, guarded.args, { env: guarded.env });
    } catch (e) {
      this.log.error(`[debug] ${(e as Error).message}`);
      // VS Code shows the error of a failed descriptor in a dialog; the message says what to install.
      throw e;
    }
  }
}
