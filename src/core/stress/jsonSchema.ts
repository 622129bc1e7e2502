// The JSON schema shipped in the package (schema/scenario.schema.json) for editors: generated from the zod
// definition so the two cannot disagree. A unit test fails when the committed file is stale;
// `node scripts/gen-schema.mjs` (or ALLOCLAB_UPDATE_SCHEMA=1 on that test) rewrites it.
import { z } from 'zod';
import { scenarioSchema } from './scenario';

/** Path of the committed schema file, relative to the package root. */
export const SCENARIO_SCHEMA_FILE = 'schema/scenario.schema.json';

/** The scenario JSON schema (input side: fields with defaults are optional), ready to serialise. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  return {
    ...generated,
    title: 'Allocator Lab scenario (*.alloclab.json)',
    // VS Code's JSON language service honours these: scenario files are JSON with comments.
    allowComments: true,
    allowTrailingCommas: true,
  };
}

/** The schema file's exact text (two-space indent, final newline). */
export function scenarioJsonSchemaText(): string {
  return JSON.stringify(scenarioJsonSchema(), null, 2) + '\n';
}
