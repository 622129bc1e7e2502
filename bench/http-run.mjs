// Bundles bench/http.ts (with the same settings as esbuild.mjs) and runs it; the workers come from
// `npm run build` (dist/workers/httpLoad.js, sampler.js). Arguments are passed on: --seconds N --concurrency N --rounds N --write.
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
if (!existsSync(join(root, 'dist', 'workers', 'httpLoad.js'))) {
  console.error('dist/workers/httpLoad.js (and sampler.js) is missing: run `npm run build` first');
  process.exit(1);
}
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { 'bench/http': 'bench/http.ts' },
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
const r = spawnSync(process.execPath, [join(root, 'dist', 'bench', 'http.js'), ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
