// The committed JSON schema must be what the zod definition generates today.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { SCENARIO_SCHEMA_FILE, scenarioJsonSchema, scenarioJsonSchemaText } from '../../../src/core/stress';
import { repoRoot } from '../support/paths';

const file = path.join(repoRoot, SCENARIO_SCHEMA_FILE);

test('schema/scenario.schema.json is up to date (node scripts/gen-schema.mjs regenerates it)', () => {
  const expected = scenarioJsonSchemaText();
  if (process.env.ALLOCLAB_UPDATE_SCHEMA === '1') writeFileSync(file, expected);
  const committed = readFileSync(file, 'utf8');
  assert.ok(committed === expected, `${SCENARIO_SCHEMA_FILE} is stale: run \`node scripts/gen-schema.mjs\` and commit it`);
});

test('the schema describes the scenario for editors: required fields, no unknown keys, comments allowed', () => {
  const s = scenarioJsonSchema() as {
    required: string[]; additionalProperties: boolean; allowComments: boolean;
    properties: Record<string, { description?: string }>;
  };
  assert.deepEqual([...s.required].sort(), ['name', 'phases', 'target']);
  assert.equal(s.additionalProperties, false);
  assert.equal(s.allowComments, true);
  for (const key of ['repeat', 'failOn', 'lists', 'allowRemoteTargets', 'phases', 'target']) {
    assert.ok(s.properties[key]?.description, `no description for ${key}`);
  }
  const text = JSON.stringify(s);
  for (const needle of ['"const":"command"', '"rate"', '"maxInFlight"', '"requests"', '"build"']) assert.ok(text.includes(needle), needle);
});
