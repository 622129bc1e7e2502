// Bundles bench/profilers.ts (with the same settings as esbuild.mjs) and runs it. Arguments are passed on:
// --work N, --threads N, --write.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { 'bench/profilers': 'bench/profilers.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  logLevel: 'warning',
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('url').pathToFileURL(__filename).href;" },
});
const r = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'profilers.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
