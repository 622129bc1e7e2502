// Opening a recorded profile of any kind: our own profile.json, a heaptrack trace, a massif.out, or a set of
// jemalloc .heap dumps (a folder or the files).
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { readRegularFile } from '../files';
import { listBackends } from './backends';
import { PROFILE_SCHEMA_VERSION, ProfileFormatError, type AllocationProfile } from './model';
import { checkProfile } from './schema';

export const PROFILE_JSON = 'profile.json';

/** 'profile-json' (ours), or the format kind of a backend ('heaptrack', 'massif', 'jeprof'). */
export type ProfileKind = 'profile-json' | string;

/** Guesses the kind of a profile path from its name (and, for folders, their contents). */
export function detectProfileKind(p: string): { kind: ProfileKind; path: string } | null {
  if (!existsSync(p)) return null;
  const formats = listBackends().map((b) => b.format);
  if (statSync(p).isDirectory()) {
    const names = readdirSync(p);
    if (names.includes(PROFILE_JSON)) return { kind: 'profile-json', path: path.join(p, PROFILE_JSON) };
    // A run folder keeps the raw files in profile/ next to profile.json.
    for (const sub of ['profile']) {
      if (names.includes(sub) && statSync(path.join(p, sub)).isDirectory()) {
        const inner = detectProfileKind(path.join(p, sub));
        if (inner) return inner;
      }
    }
    for (const f of formats) {
      const found = f.inFolder(p, names);
      if (found) return { kind: f.kind, path: found };
    }
    return null;
  }
  const base = path.basename(p);
  if (base.endsWith('.json')) return { kind: 'profile-json', path: p };
  const f = formats.find((x) => x.isFile(base));
  return f ? { kind: f.kind, path: p } : null;
}

/** Opens any supported profile; throws ProfileFormatError for unknown, truncated or corrupt input. */
export async function openProfile(p: string): Promise<AllocationProfile> {
  const found = detectProfileKind(p);
  if (!found) {
    throw new ProfileFormatError(p, null, existsSync(p) ? 'not a profile this tool reads: give a heaptrack .zst/.gz trace, a massif.out.* file, jemalloc .heap dumps (or their folder), or a run folder with profile.json' : 'no such file or folder');
  }
  if (found.kind === 'profile-json') return readProfileJson(found.path);
  const format = listBackends().map((b) => b.format).find((f) => f.kind === found.kind)!;
  return format.read(found.path);
}

/** Reads profile.json as written by `alloclab profile`, checking its shape. */
export function readProfileJson(file: string): AllocationProfile {
  let value: unknown;
  try {
    value = JSON.parse(readRegularFile(file));
  } catch (e) {
    throw new ProfileFormatError(file, null, `not valid JSON: ${(e as Error).message}`);
  }
  const version = (value as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (typeof version === 'number' && version > PROFILE_SCHEMA_VERSION) throw new ProfileFormatError(file, null, `written by a newer Allocator Lab (profile schema ${version}); update alloclab`);
  const checked = checkProfile(value);
  if ('problem' in checked) throw new ProfileFormatError(file, null, `not an Allocator Lab profile: ${checked.problem}`);
  return { ...checked.profile, sources: checked.profile.sources.length ? checked.profile.sources : [file] };
}
