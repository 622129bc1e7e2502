// Turning a file name from debug info into a file in the user's workspace: build machines and containers use
// other roots (/build/src/..., /usr/src/app/...), and massif gives only base names.
import { existsSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

export interface PathMapOptions {
  /** Prefix replacements, like VS Code's sourceFileMap: { "/build/src": "/home/me/project" }. */
  sourceFileMap?: Record<string, string>;
  workspaceRoots: string[];
}

/** How a debug-info path was found here: by the user's sourceFileMap, at the path it records, by suffix, or not. */
export interface SourceResolution {
  file: string | null;
  how: 'mapped' | 'recorded' | 'suffix' | 'none';
  /** The workspace files that matched equally well when no single one could be chosen. */
  ambiguous: string[];
}

/**
 * Finds the local file of a debug-info path. The user's sourceFileMap comes first; then the recorded path itself
 * when it exists (an outside program's sources.c is not the workspace's sources.c); then the workspace file
 * sharing the longest run of trailing path components. A tie is reported, never guessed.
 */
export function resolveSourceFile(file: string | null, opts: PathMapOptions): SourceResolution {
  const none = (ambiguous: string[] = []): SourceResolution => ({ file: null, how: 'none', ambiguous });
  if (!file) return none();
  const prefixes = Object.entries(opts.sourceFileMap ?? {}).sort((a, b) => b[0].length - a[0].length);
  for (const [from, to] of prefixes) {
    const f = from.replace(/\/+$/, '');
    if (file === f || file.startsWith(f + '/')) {
      const mapped = path.join(to, file.slice(f.length));
      if (existsSync(mapped)) return { file: mapped, how: 'mapped', ambiguous: [] };
    }
  }
  if (path.isAbsolute(file) && isFile(file)) return { file, how: 'recorded', ambiguous: [] };
  const m = suffixMatch(file, opts.workspaceRoots);
  return m.file ? { file: m.file, how: 'suffix', ambiguous: [] } : none(m.tied);
}

/** The workspace file for a debug-info path, or null when none is found (shown, but not linked). */
export function mapToWorkspace(file: string | null, opts: PathMapOptions): string | null {
  const r = resolveSourceFile(file, opts);
  // A recorded path that exists outside the workspace folders is not a workspace file.
  if (r.how === 'recorded' && !opts.workspaceRoots.some((root) => isInside(r.file!, root))) return null;
  return r.file;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isInside(file: string, root: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

// Workspace file lists, by root; built once per root (the walk skips build output and dependencies).
const indexCache = new Map<string, Map<string, string[]>>();
const SKIP = new Set(['node_modules', '.git', 'dist', 'out', '.alloclab', '.cache']);
const MAX_FILES = 200_000;

function indexRoot(root: string): Map<string, string[]> {
  let idx = indexCache.get(root);
  if (idx) return idx;
  idx = new Map();
  let count = 0;
  const walk = (dir: string, depth: number) => {
    if (depth > 20 || count > MAX_FILES) return;
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (SKIP.has(name)) continue;
      const p = path.join(dir, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) walk(p, depth + 1);
      else {
        count++;
        let list = idx!.get(name);
        if (!list) idx!.set(name, (list = []));
        list.push(p);
      }
    }
  };
  walk(root, 0);
  indexCache.set(root, idx);
  return idx;
}

/** Forgets the cached workspace file lists (after files were added). */
export function clearPathMapCache(): void {
  indexCache.clear();
}

// The candidate sharing the longest run of trailing path components wins; a tie between equals is ambiguous.
function suffixMatch(file: string, roots: string[]): { file: string | null; tied: string[] } {
  const parts = file.split(/[\\/]+/).filter((p) => p && p !== '.');
  const base = parts[parts.length - 1];
  if (!base) return { file: null, tied: [] };
  let best: string | null = null;
  let bestScore = 0;
  let tie = false;
  let tied: string[] = [];
  for (const root of roots) {
    for (const cand of indexRoot(root).get(base) ?? []) {
      const cp = cand.split(path.sep);
      let score = 0;
      while (score < parts.length && score < cp.length && cp[cp.length - 1 - score] === parts[parts.length - 1 - score]) score++;
      if (score > bestScore) {
        best = cand;
        bestScore = score;
        tie = false;
        tied = [cand];
      } else if (score === bestScore) {
        tie = true;
        tied.push(cand);
      }
    }
  }
  // Two candidates matching equally well (a bare base name that exists twice) cannot be resolved honestly.
  return best && !tie ? { file: best, tied: [] } : { file: null, tied: tie ? tied : [] };
}
