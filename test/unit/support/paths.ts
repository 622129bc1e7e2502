// Where tests find the repository and the native programs built by `make -C native`.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { packageRoot } from '../../../src/core/workers';

export const repoRoot = packageRoot();
export const nativeBuild = path.join(repoRoot, 'native', 'build');

/** Path of a native test program; fails the test with a clear message when it was not built. */
export function nativeProgram(name: string): string {
  const p = path.join(nativeBuild, name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`make -C native\` first`);
  return p;
}
