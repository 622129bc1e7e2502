// The one PATH search. A PATH entry that is empty means the current directory (POSIX execvp); an unset PATH
// falls back to the directories execvp itself would use.
import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';

/** What execvp searches when PATH is unset. */
export const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The directories of a PATH value, in order ('' for an empty entry, i.e. the current directory). */
export function pathDirs(envPath: string | undefined = process.env.PATH): string[] {
  return (envPath ?? DEFAULT_PATH).split(':');
}

/** True for a regular file this process may execute (root passes X_OK for any file with one execute bit). */
export function isExecutableFile(file: string): boolean {
  try {
    const st = statSync(file);
    if (!st.isFile() || (st.mode & 0o111) === 0) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface WhichOptions {
  /** The PATH to search (default: this process's). */
  pathEnv?: string;
  /** Searched after PATH (e.g. /usr/bin for tools Debian installs outside a minimal PATH). */
  extraDirs?: readonly string[];
  /** What an empty PATH entry (or a relative one) is relative to (default: the current directory). */
  cwd?: string;
}

/** The first executable file called `name` on PATH (a name with a slash is checked as it is); null when there is none. */
export function which(name: string, opts: WhichOptions = {}): string | null {
  const cwd = opts.cwd ?? process.cwd();
  if (name.includes('/')) {
    const file = path.resolve(cwd, name);
    return isExecutableFile(file) ? file : null;
  }
  const dirs = [...new Set([...pathDirs(opts.pathEnv), ...(opts.extraDirs ?? [])])];
  for (const dir of dirs) {
    const file = path.resolve(cwd, dir, name);
    if (isExecutableFile(file)) return file;
  }
  return null;
}
