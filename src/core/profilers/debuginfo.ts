// Where the symbols of a module are: its own .debug_info, then (for stripped or distribution binaries) a separate
// debug file by build-id under /usr/lib/debug/.build-id/, through .gnu_debuglink, through debuginfod when
// DEBUGINFOD_URLS is set, and last the module's own .dynsym (function names of exported symbols only).
// Each module says which lookups found nothing, so the user is told how to get symbols for it.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { execa } from 'execa';

export type DebugSource = 'embedded' | 'build-id' | 'debuglink' | 'debuginfod' | 'dynsym' | 'none';

export interface DebugInfo {
  /** The file to hand the symbolizer (the module itself, or its separate debug file). */
  file: string | null;
  source: DebugSource;
  /** The lookups that found nothing, in the order they were tried (e.g. "/usr/lib/debug/.build-id/ab/cd.debug"). */
  misses: string[];
}

interface Sections {
  names: Set<string>;
  debuglink: string | null;
}

const sectionCache = new Map<string, Sections | null>();

/** The section names of an ELF file (64-bit little-endian) and its .gnu_debuglink target, if any. */
export function readSections(file: string): Sections | null {
  if (sectionCache.has(file)) return sectionCache.get(file)!;
  let out: Sections | null = null;
  let fd: number | null = null;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const read = (pos: number, len: number): Buffer => {
      const b = Buffer.alloc(len);
      readSync(fd!, b, 0, len, pos);
      return b;
    };
    const h = read(0, 64);
    if (h.readUInt32BE(0) === 0x7f454c46 && h[4] === 2 && h[5] === 1) {
      const shoff = Number(h.readBigUInt64LE(40));
      const shentsize = h.readUInt16LE(58);
      const shnum = h.readUInt16LE(60);
      const shstrndx = h.readUInt16LE(62);
      if (shoff > 0 && shnum > 0 && shoff + shnum * shentsize <= size && shstrndx < shnum) {
        const sh = read(shoff, shnum * shentsize);
        const strOff = Number(sh.readBigUInt64LE(shstrndx * shentsize + 24));
        const strSize = Number(sh.readBigUInt64LE(shstrndx * shentsize + 32));
        const strtab = read(strOff, Math.min(strSize, 1 << 20));
        out = { names: new Set(), debuglink: null };
        for (let i = 0; i < shnum; i++) {
          const o = i * shentsize;
          const nameAt = sh.readUInt32LE(o);
          const end = strtab.indexOf(0, nameAt);
          const name = strtab.toString('latin1', nameAt, end < 0 ? undefined : end);
          const type = sh.readUInt32LE(o + 4);
          // SHT_NOBITS sections of a debug file have names but no contents: they do not count as present.
          if (type !== 8) out.names.add(name);
          if (name === '.gnu_debuglink') {
            const data = read(Number(sh.readBigUInt64LE(o + 24)), Math.min(Number(sh.readBigUInt64LE(o + 32)), 4096));
            const z = data.indexOf(0);
            out.debuglink = data.toString('latin1', 0, z < 0 ? undefined : z) || null;
          }
        }
      }
    }
  } catch {
    out = null;
  } finally {
    if (fd != null) closeSync(fd);
  }
  sectionCache.set(file, out);
  return out;
}

/** The system's separate-debug-file root (tests point it elsewhere). */
export function debugRoot(): string {
  return process.env.ALLOCLAB_DEBUG_ROOT ?? '/usr/lib/debug';
}

function hasDebugInfo(file: string): boolean {
  return readSections(file)?.names.has('.debug_info') ?? false;
}

/** Finds the symbols of `module` (whose GNU build-id is `buildId`), trying each source in order. */
export async function findDebugInfo(module: string, buildId: string | null, opts: { debuginfod?: boolean } = {}): Promise<DebugInfo> {
  const misses: string[] = [];
  if (!existsSync(module)) return { file: null, source: 'none', misses: [`${module} (no longer on disk)`] };
  if (hasDebugInfo(module)) return { file: module, source: 'embedded', misses };
  misses.push(`${module} itself (no .debug_info)`);
  const root = debugRoot();
  if (buildId && buildId.length > 2) {
    const f = path.join(root, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
    if (existsSync(f) && hasDebugInfo(f)) return { file: f, source: 'build-id', misses };
    misses.push(f);
  } else {
    misses.push('build-id (the module has none)');
  }
  const link = readSections(module)?.debuglink;
  if (link) {
    const dir = path.dirname(module);
    for (const f of [path.join(dir, link), path.join(dir, '.debug', link), path.join(root, dir, link)]) {
      if (f !== module && existsSync(f) && hasDebugInfo(f)) return { file: f, source: 'debuglink', misses };
      misses.push(f);
    }
  } else {
    misses.push('.gnu_debuglink (the module has none)');
  }
  const urls = (process.env.DEBUGINFOD_URLS ?? '').split(/\s+/).filter(Boolean);
  if (urls.length && buildId && opts.debuginfod !== false) {
    const f = await fetchDebuginfod(urls, buildId);
    if (f) return { file: f, source: 'debuginfod', misses };
    misses.push(`debuginfod (${urls.join(' ')})`);
  } else {
    misses.push('debuginfod (DEBUGINFOD_URLS is not set)');
  }
  const names = readSections(module)?.names;
  if (names?.has('.symtab') || names?.has('.dynsym')) return { file: module, source: names.has('.symtab') ? 'embedded' : 'dynsym', misses };
  return { file: null, source: 'none', misses };
}

const debuginfodCache = new Map<string, Promise<string | null>>();

// debuginfod's protocol: GET URL/buildid/ID/debuginfo. Cached on disk the way debuginfod clients do, so a
// profile opened twice does not download twice.
function fetchDebuginfod(urls: string[], buildId: string): Promise<string | null> {
  let p = debuginfodCache.get(buildId);
  if (!p) {
    p = (async () => {
      const cacheDir = path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'alloclab', 'debuginfod');
      const target = path.join(cacheDir, `${buildId}.debug`);
      if (existsSync(target)) return target;
      for (const url of urls) {
        try {
          const r = await fetch(`${url.replace(/\/+$/, '')}/buildid/${buildId}/debuginfo`, { signal: AbortSignal.timeout(30_000) });
          if (!r.ok) continue;
          const body = Buffer.from(await r.arrayBuffer());
          mkdirSync(cacheDir, { recursive: true });
          const tmp = `${target}.${process.pid}.tmp`;
          writeFileSync(tmp, body);
          renameSync(tmp, target);
          return target;
        } catch {
          // Try the next server.
        }
      }
      return null;
    })();
    debuginfodCache.set(buildId, p);
  }
  return p;
}

const ownerCache = new Map<string, string | null>();

/** The Debian package that installed this file (`dpkg -S`), or null when none did. */
export async function debianOwner(file: string): Promise<string | null> {
  if (ownerCache.has(file)) return ownerCache.get(file)!;
  let owner: string | null = null;
  try {
    const r = await execa('dpkg', ['-S', file], { reject: false, timeout: 10_000 });
    const m = r.exitCode === 0 ? /^([^:\s]+)(:[\w-]+)?: /.exec(r.stdout) : null;
    owner = m ? m[1] + (m[2] ?? '') : null;
    // /lib is a symlink to /usr/lib on Debian 12; dpkg knows only one of the two names.
    if (!owner && /^\/(lib|lib64|bin|sbin)\//.test(file)) owner = await debianOwner('/usr' + file);
  } catch {
    owner = null;
  }
  ownerCache.set(file, owner);
  return owner;
}

/**
 * What to tell the user about a module without source lines. For a binary the user did not build (owned by a
 * Debian package, or outside the workspace) it names the lookups that found nothing and where symbols come
 * from; rebuilding is never suggested for such a binary.
 */
export async function symbolsAdvice(module: string, info: DebugInfo, workspaceRoots: string[]): Promise<string | null> {
  if (info.source === 'embedded' || info.source === 'build-id' || info.source === 'debuglink' || info.source === 'debuginfod') return null;
  const owner = await debianOwner(module);
  const inside = workspaceRoots.some((r) => !path.relative(r, module).startsWith('..') && !path.isAbsolute(path.relative(r, module)));
  const base = path.basename(module);
  const found = info.source === 'dynsym' ? 'only its exported symbols (.dynsym) were found' : 'no symbols were found';
  const tried = `tried: ${info.misses.join('; ')}`;
  if (owner) {
    const pkg = owner.replace(/:[\w-]+$/, '');
    return `${base}: ${found} (${tried}). It comes from the Debian package ${owner}: install its debug symbols (\`apt-get install ${pkg}-dbgsym\` from the debian-debug archive, or ${pkg === 'libc6' ? '`apt-get install libc6-dbg`' : 'a -dbg package if there is one'}), or set DEBUGINFOD_URLS=https://debuginfod.debian.net.`;
  }
  if (!inside) {
    return `${base}: ${found} (${tried}). It was not built in this workspace: get its debug file from whoever built it (a -dbgsym/-debuginfo package, or a debuginfod server via DEBUGINFOD_URLS), or place it at ${path.join(debugRoot(), '.build-id', 'xx', 'rest-of-build-id.debug')}.`;
  }
  return `${base}: ${found} (${tried}). Rebuild it with -g (e.g. CFLAGS="-g -O2") for file and line, or keep the debug info in a separate file (objcopy --only-keep-debug) under ${path.join(debugRoot(), '.build-id')}.`;
}
