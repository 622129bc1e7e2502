// Writes schema/scenario.schema.json from the zod scenario definition (src/core/stress/scenario.ts).
// Run after changing the scenario schema: `node scripts/gen-schema.mjs`; a unit test fails while the file is stale.
import * as esbuild from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tmp = mkdtempSync(join(tmpdir(), 'alloclab-schema-'));
try {
  const out = join(tmp, 'jsonSchema.cjs');
  await esbuild.build({ entryPoints: [join(root, 'src/core/stress/jsonSchema.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'warning' });
  const { scenarioJsonSchemaText, SCENARIO_SCHEMA_FILE } = createRequire(import.meta.url)(out);
  const target = join(root, SCENARIO_SCHEMA_FILE);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, scenarioJsonSchemaText());
  console.log(`wrote ${target}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
