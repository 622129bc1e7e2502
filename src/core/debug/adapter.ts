// The lldb Debug Adapter Protocol server behind the `alloclab-lldb` debug type. LLVM renamed lldb-vscode to
// lldb-dap in 18; Debian ships versioned names (lldb-vscode-16), so PATH alone is not enough.
import * as path from 'node:path';
import { AlloclabError } from '../errors';
import { isExecutableFile, pathDirs, which } from '../os/which';

/** Names tried on PATH and in /usr/bin, newest first. */
export const LLDB_DAP_CANDIDATES: readonly string[] = [
  'lldb-dap', ...[21, 20, 19, 18].map((v) => `lldb-dap-${v}`),
  'lldb-vscode', ...[17, 16, 15, 14].map((v) => `lldb-vscode-${v}`),
];

export interface DebugAdapterFound {
  path: string;
  /** lldb-vscode before LLVM 18 takes `env` only as ["NAME=VALUE"]; both take that form, so it is what we send. */
  flavour: 'lldb-dap' | 'lldb-vscode';
}

/** Thrown when no lldb adapter is installed; says which Debian package to install. */
export class DebugAdapterNotFoundError extends AlloclabError {
  constructor(searched: string[]) {
    super(`No lldb debug adapter found (looked for ${LLDB_DAP_CANDIDATES.slice(0, 2).join(', ')}, lldb-vscode-16, ... on PATH and in ${searched.join(', ')}). Install one with \`apt-get install lldb-16\` (it provides /usr/bin/lldb-vscode-16), or set allocatorLab.debug.adapterPath.`, 'input');
  }
}


/** The lldb DAP server to run: an explicit path if given, else the first candidate on PATH or in /usr/bin. */
export function findDebugAdapter(opts: { explicitPath?: string; pathEnv?: string } = {}): DebugAdapterFound {
  const flavour = (p: string): DebugAdapterFound['flavour'] => (path.basename(p).startsWith('lldb-dap') ? 'lldb-dap' : 'lldb-vscode');
  if (opts.explicitPath) {
    if (!isExecutableFile(opts.explicitPath)) {
      throw new AlloclabError(`allocatorLab.debug.adapterPath is "${opts.explicitPath}", which is not an executable file. Fix the setting or clear it to search PATH.`, 'input');
    }
    return { path: opts.explicitPath, flavour: flavour(opts.explicitPath) };
  }
  const extraDirs = ['/usr/bin', '/usr/local/bin'];
  for (const name of LLDB_DAP_CANDIDATES) {
    const p = which(name, { pathEnv: opts.pathEnv, extraDirs });
    if (p) return { path: p, flavour: flavour(p) };
  }
  throw new DebugAdapterNotFoundError([...new Set([...pathDirs(opts.pathEnv).filter(Boolean), ...extraDirs])]);
}
