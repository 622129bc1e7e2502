// `npm run bench [-- NAME ...] [-- --write]`: runs the benchmarks (bench/*.ts, bundled by `npm run build` into
// dist/bench/). Each prints its table; --write also records it in bench/RESULTS.md. Options after the names are
// passed on to every benchmark (e.g. --seconds 3, --quick).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const all = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).map((f) => f.slice(0, -3));
const args = process.argv.slice(2);
const names = args.filter((a) => all.includes(a));
const pass = args.filter((a) => !all.includes(a));
let failed = 0;
for (const name of names.length ? names : all) {
  const js = join(root, 'dist', 'bench', `${name}.js`);
  if (!existsSync(js)) {
    console.error(`${js} is missing: run \`npm run build\` first`);
    failed++;
    continue;
  }
  console.log(`\n=== bench: ${name} ===`);
  const r = spawnSync(process.execPath, [js, ...pass], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
