// Running the `alloclab` command the way a user does, in a fresh folder, for the reliability tests.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../support/paths';

export const cliPath = path.join(repoRoot, 'bin', 'alloclab');

/** A new empty folder under the system temporary folder (with a space, as users' paths have). */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `alloclab ${prefix}-`));
}

export interface CliResult { status: number | null; signal: string | null; stdout: string; stderr: string }

/** Runs the CLI to its end (a minute at most, so a hang fails the test instead of stalling the suite). */
export function runCli(args: string[], cwd: string, timeoutMs = 60_000): CliResult {
  const r = spawnSync(process.execPath, [cliPath, ...args], { cwd, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A stack trace printed by Node or by us ("    at fn (file:1:2)"). */
export const STACK_TRACE = /^\s+at .*(:\d+:\d+\)?|\(native\)|<anonymous>)$/m;

/** runCli without blocking this process (for tests that serve the load the CLI sends). */
export function runCliAsync(args: string[], cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}
