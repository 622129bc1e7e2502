// Shared by the profiler tests: where the SITE markers are, and checks on ranked hotspots.
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as assert from 'node:assert/strict';
import { repoRoot } from '../support/paths';
import { openProfile, type AllocationProfile, type AttributionBackend, type Hotspot } from '../../../src/core/profilers';
import type { EnvironmentRecord } from '../../../src/core/model';
import { profileRun, type ProfileRunOutcome } from '../../../src/core/runs/profile';

export const proftestDir = path.join(repoRoot, 'native', 'proftest');
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures', 'profiles');

/** 1-based line of the "SITE:role" marker in a proftest source file. */
export function markerLine(file: string, role: 'leak' | 'churn' | 'cache'): number {
  const lines = readFileSync(path.join(proftestDir, file), 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(`SITE:${role} `));
  assert.ok(i >= 0, `no SITE:${role} marker in ${file}`);
  return i + 1;
}

/** Asserts the first hotspot is exactly the marked line of the source file (base name compared: massif gives base names). */
export function assertTopIs(rows: Hotspot[], file: string, role: 'leak' | 'churn' | 'cache', what: string): void {
  assert.ok(rows.length > 0, `${what}: no hotspots`);
  const top = rows[0];
  const got = `${top.file ? path.basename(top.file) : '(no file)'}:${top.line}`;
  assert.equal(got, `${file}:${markerLine(file, role)}`, `${what}: top site is ${top.function} ${got}, expected the ${role} line`);
}

/** Profiles a binary as `alloclab profile -- BINARY` does, into the run folder dir: the environment and its profile. */
export async function profileBinary(backend: AttributionBackend, command: string, args: string[], durationMs: number, dir: string):
  Promise<ProfileRunOutcome & { env: EnvironmentRecord; profile: AllocationProfile }> {
  const r = await profileRun({ backend, target: { command, args, durationMs, cwd: dir }, runsDir: dir, outDir: dir });
  const env = r.record.environments[0];
  assert.ok(r.profiles.length === 1, `no profile recorded: ${env.error ?? ''}`);
  return { ...r, env, profile: r.profiles[0].profile };
}

/** Where the fixtures' sources are said to be: a build host that does not exist here. */
export const ELSEWHERE = '/nonexistent-build-host/native/proftest';

/**
 * A fixture profile as if recorded on another machine, written as profile.json in dir: the fixtures name the
 * sources of the checkout that recorded them, which may exist on this machine and would then be opened as they
 * are (the recorded path wins); moved elsewhere, the workspace is found by suffix, as for a profile from CI.
 */
export async function fixtureFromElsewhere(name: string, dir: string): Promise<string> {
  const p = await openProfile(path.join(fixturesDir, name));
  const moved = {
    ...p,
    sites: p.sites.map((s) => ({ ...s, frames: s.frames.map((f) => ({ ...f, file: f.file?.includes('/native/proftest/') ? ELSEWHERE + f.file.slice(f.file.indexOf('/native/proftest/') + '/native/proftest'.length) : f.file })) })),
  };
  const out = path.join(dir, 'profile.json');
  writeFileSync(out, JSON.stringify(moved));
  return out;
}
