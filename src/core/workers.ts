// Worker-thread entry points are separate bundles (dist/workers/*.js). Code that starts one may itself be
// bundled anywhere under dist/ (the CLI, the language server, a test), so look upwards for the workers folder.
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** Absolute path of the bundled worker script `name` (e.g. "sampler"). */
export function workerPath(name: string): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    for (const candidate of [path.join(dir, 'workers', `${name}.js`), path.join(dir, 'dist', 'workers', `${name}.js`)]) {
      if (existsSync(candidate)) return candidate;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`worker bundle "${name}" not found near ${__dirname}; run \`npm run build\``);
}

/** The package root (the folder holding package.json of allocator-lab). */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'native'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..');
}
