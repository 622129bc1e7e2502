// Builds every bundle: extension host, language server, CLI, worker threads, webview, and the tests.
// Dependencies are bundled in (execa is ESM-only; the bundles are CommonJS so VS Code and Node 20 load them).
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

function findTests(dir, suffix) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p, suffix));
    else if (p.endsWith(suffix)) out.push(p);
  }
  return out;
}

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'error',
  external: ['vscode'],
  // Prefer ESM builds: some packages' UMD builds (jsonc-parser) hide requires that esbuild cannot follow.
  mainFields: ['module', 'main'],
  // Some ESM dependencies read import.meta.url; give them the bundle's own URL.
  define: { 'import.meta.url': 'importMetaUrl' },
  banner: { js: "const importMetaUrl = require('url').pathToFileURL(__filename).href;" },
};

const nodeEntries = {
  extension: 'src/vscode/extension.ts',
  server: 'src/server/server.ts',
  cli: 'src/cli/main.ts',
  'workers/sampler': 'src/core/sampler/samplerWorker.ts',
  'workers/httpLoad': 'src/core/stress/httpLoadWorker.ts',
  'workers/watchdog': 'src/core/os/watchdogMain.ts',
};
const present = Object.fromEntries(Object.entries(nodeEntries).filter(([, f]) => existsSync(f)));

// One build per entry, so a bundle that does not compile yet does not stop the others from being written.
const builds = Object.entries(present).map(([name, file]) => ({ ...node, entryPoints: { [name]: file }, outdir: 'dist' }));
if (existsSync('webview/main.ts')) {
  builds.push({
    bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: production ? false : 'linked',
    minify: production, logLevel: 'warning', entryPoints: { webview: 'webview/main.ts' }, outdir: 'dist',
    loader: { '.css': 'css' },
  });
}
// Tests: one bundle per unit test file (run by `node --test`), and the integration suite for the VS Code host.
const unitTests = findTests('test/unit', '.test.ts');
for (const t of unitTests) builds.push({ ...node, entryPoints: [t], outdir: 'dist/test/unit', outbase: 'test/unit' });
const integration = findTests('test/integration', '.ts');
if (integration.length) builds.push({ ...node, entryPoints: integration, outdir: 'dist/test/integration', outbase: 'test/integration', external: ['vscode', 'mocha'] });

// Benchmarks: dist/bench/<name>.js, run by scripts/bench.mjs.
for (const b of findTests('bench', '.ts').filter((f) => !f.endsWith('.d.ts'))) builds.push({ ...node, entryPoints: [b], outdir: 'dist/bench', outbase: 'bench' });

// Chromium checks of the panel page and the standalone report (playwright-core stays a runtime dependency).
if (existsSync('test/ui/webview-report.test.ts')) {
  builds.push({ ...node, entryPoints: { 'test/ui/report': 'test/ui/webview-report.test.ts' }, outdir: 'dist', external: ['vscode', 'playwright-core'] });
}

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  // --strict (setup, CI): any failing bundle fails the build. Without it, failures are printed and the rest is kept.
  const results = await Promise.allSettled(builds.map((b) => esbuild.build(b)));
  const failed = results.filter((r) => r.status === 'rejected');
  if (failed.length) {
    console.error(`esbuild: ${failed.length} of ${builds.length} bundles failed`);
    if (process.argv.includes('--strict')) process.exitCode = 1;
  }
}
