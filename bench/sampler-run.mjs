// Bundles bench/sampler.ts (with the same settings as esbuild.mjs) and runs it; the sampler's worker comes from
// `npm run build` (dist/workers/sampler.js). Arguments are passed on: --seconds N, --write.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
if (!existsSync(join(root, 'dist', 'workers', 'sampler.js'))) {
  console.error('dist/workers/sampler.js is missing: run `npm run build` first');
  process.exit(1);
}
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { 'bench/sampler': 'bench/sampler.ts' },
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
const r = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'sampler.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
