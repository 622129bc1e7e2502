// Where the profiles of a path are: the one lookup the CLI, the language server and the run panel share.
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { AlloclabError } from '../errors';
import { PROFILE_JSON } from './open';

/** One profile to open, labelled by its environment folder (or by the file's own name). */
export interface ProfileLocation {
  label: string;
  /** What openProfile takes: a folder holding profile.json or raw files, or a file. */
  path: string;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The profiles of a path: a run folder gives one per environment folder holding profile.json (in folder order),
 * anything else (an environment folder, profile.json, a raw trace, a folder of dumps) is one profile. With an
 * environment id, only that environment's folders of a run (an input error when it has none).
 */
export function findProfiles(p: string, environment?: string): ProfileLocation[] {
  const abs = path.resolve(p);
  if (isDir(abs) && (environment || !existsSync(path.join(abs, PROFILE_JSON)))) {
    const envDirs = readdirSync(abs).sort().map((n) => path.join(abs, n)).filter((d) => isDir(d) && existsSync(path.join(d, PROFILE_JSON)));
    const all = envDirs.map((d) => ({ label: path.basename(d), path: d }));
    if (environment) {
      // Environment folders are NN-<id> (and -rN for repetitions).
      const picked = all.filter((l) => l.label.replace(/^\d+-/, '').replace(/-r\d+$/, '') === environment);
      if (!picked.length) throw new AlloclabError(`--env ${environment}: ${p} has no profile of that environment (it has: ${all.map((l) => l.label.replace(/^\d+-/, '')).join(', ') || 'none'})`, 'input');
      return picked;
    }
    if (all.length) return all;
  }
  const named = path.basename(abs) === PROFILE_JSON ? path.dirname(abs) : abs;
  return [{ label: path.basename(named), path: abs }];
}

/** True when a folder is, or holds in an environment folder, a recorded profile.json. */
export function hasProfiles(dir: string): boolean {
  return findProfiles(dir).some((l) => existsSync(path.join(l.path, PROFILE_JSON)));
}
