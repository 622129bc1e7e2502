// Finds which allocator environments this system can run: built-in profiles whose library exists, plus the
// user's custom ones. Looking costs a few file stats and one `ldconfig -p`, so results are cached per options.
import { accessSync, constants, statSync } from 'node:fs';
import * as path from 'node:path';
import { execaSync } from 'execa';
import { AllocatorNotFoundError, AlloclabError } from '../errors';
import { readElf } from './elf';
import { BUILTIN_PROFILES, type BuiltinProfile } from './profiles';
import type { AllocatorProfile, BinaryInfo, CustomAllocatorSpec, DiscoveryOptions } from './types';

const AS_SHIPPED = 'as-shipped';

const cache = new Map<string, AllocatorProfile[]>();
let ldconfigCache: Map<string, string[]> | null = null;

/** All profiles with availability on this system (ldconfig -p, the Debian paths, searchPaths); cached. */
export function discoverAllocators(opts: DiscoveryOptions = {}): AllocatorProfile[] {
  const key = JSON.stringify({ custom: opts.custom ?? [], searchPaths: opts.searchPaths ?? [] });
  let profiles = cache.get(key);
  if (!profiles) {
    profiles = [...BUILTIN_PROFILES.map((b) => discoverBuiltin(b, opts.searchPaths ?? [])), ...customProfiles(opts.custom ?? [])];
    cache.set(key, profiles);
  }
  // Callers may adjust what they get; the cache stays as discovered.
  return profiles.map((p) => ({ ...p, env: { ...p.env } }));
}

/** Profiles for these ids, in order; throws AllocatorNotFoundError for unknown ids. */
export function resolveEnvironments(ids: string[], opts: DiscoveryOptions = {}): AllocatorProfile[] {
  const all = discoverAllocators(opts);
  return ids.map((id) => {
    const found = all.find((p) => p.id === id);
    if (!found) throw new AllocatorNotFoundError(id, all.map((p) => p.id));
    return found;
  });
}

/**
 * The environments to run for this binary: when it links an allocator, "as shipped" (labelled with that
 * allocator, e.g. "as shipped: jemalloc (linked)") takes the place of glibc, which stays in the list to be
 * reported not applied. Ordinary binaries ship on glibc: the list is unchanged.
 */
export function shippedEnvironments(profiles: readonly AllocatorProfile[], binary: BinaryInfo, opts: DiscoveryOptions = {}): AllocatorProfile[] {
  const family = binary.linkedAllocator?.split(' ')[0] ?? null;
  const asShipped = discoverAllocators(opts).find((p) => p.id === AS_SHIPPED && !p.custom)!;
  const label = family ? `as shipped: ${family} (linked)` : asShipped.label;
  const out = profiles.map((p) => (p.id === AS_SHIPPED && !p.custom ? { ...p, label } : p));
  const glibcAt = out.findIndex((p) => p.id === 'glibc' && !p.custom);
  if (family && glibcAt >= 0 && !out.some((p) => p.id === AS_SHIPPED)) out.splice(glibcAt, 0, { ...asShipped, label });
  return out;
}

/** Forgets discovered profiles (after installing a package, or in tests). */
export function clearAllocatorCache(): void {
  cache.clear();
  ldconfigCache = null;
}

function discoverBuiltin(b: BuiltinProfile, searchPaths: string[]): AllocatorProfile {
  const base: AllocatorProfile = {
    id: b.id,
    label: b.label,
    description: b.description,
    env: { ...b.env },
    preload: null,
    available: true,
    unavailableReason: null,
    debianPackage: b.debianPackage,
    custom: false,
  };
  if (!b.soname) return base;
  const candidates = [
    ...searchPaths.map((d) => path.join(path.resolve(d), b.soname as string)),
    ...systemLibraryDirs().map((d) => path.join(d, b.soname as string)),
    ...(ldconfigEntries().get(b.soname) ?? []),
  ];
  const found = candidates.find((c) => usableLibrary(c) === null);
  if (found) return { ...base, preload: found };
  const install = b.debianPackage ? `; install it with \`apt-get install ${b.debianPackage}\`` : '';
  return {
    ...base,
    available: false,
    unavailableReason: `${b.soname} not found (looked in ${[...new Set(candidates.map(path.dirname))].join(', ')} and ldconfig)${install}, or pass its folder in searchPaths`,
  };
}

function customProfiles(specs: CustomAllocatorSpec[]): AllocatorProfile[] {
  const seen = new Set(BUILTIN_PROFILES.map((b) => b.id));
  return specs.map((spec) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(spec.id)) {
      throw new AlloclabError(`Custom allocator id "${spec.id}" is not usable as a name: use letters, digits, dot, dash, underscore.`, 'input');
    }
    if (seen.has(spec.id)) {
      throw new AlloclabError(`Custom allocator id "${spec.id}" is already taken${BUILTIN_PROFILES.some((b) => b.id === spec.id) ? ' by a built-in profile' : ''}; choose another id.`, 'input');
    }
    seen.add(spec.id);
    const env = { ...(spec.env ?? {}) };
    let library = spec.library;
    // LD_PRELOAD in env would be overwritten by composition; treat it as the library to preload.
    if (env.LD_PRELOAD !== undefined) {
      if (library) throw new AlloclabError(`Custom allocator "${spec.id}" gives both library and env.LD_PRELOAD; keep only library.`, 'input');
      library = env.LD_PRELOAD;
      delete env.LD_PRELOAD;
    }
    if (!library && Object.keys(env).length === 0) {
      throw new AlloclabError(`Custom allocator "${spec.id}" needs a library to preload or env variables to set.`, 'input');
    }
    const preload = library ? path.resolve(library) : null;
    const problem = preload ? usableLibrary(preload) : null;
    return {
      id: spec.id,
      label: spec.label ?? spec.id,
      description: spec.description ?? (preload ? `Custom: LD_PRELOAD=${preload}` : `Custom: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`),
      env,
      preload,
      available: problem === null,
      unavailableReason: problem,
      debianPackage: null,
      custom: true,
    };
  });
}

/** Null when the file can be preloaded into a program of our architecture, else why not. */
export function usableLibrary(file: string): string | null {
  // ld.so splits LD_PRELOAD at spaces and colons, so such a path can never be preloaded.
  if (/[\s:]/.test(file)) return `${file}: ld.so splits LD_PRELOAD at spaces and colons; copy or link the library to a path without them`;
  try {
    const st = statSync(file);
    if (!st.isFile()) return `${file} is not a file`;
    accessSync(file, constants.R_OK);
  } catch {
    return `${file} does not exist or is not readable`;
  }
  let elf;
  try {
    elf = readElf(file);
  } catch (e) {
    return `${file} cannot be read: ${(e as Error).message}`;
  }
  if (!elf || elf.type !== 3) return `${file} is not an ELF shared library`;
  const machine = nativeMachine();
  if (machine !== null && elf.machine !== machine) return `${file} is built for another architecture (ELF machine ${elf.machine})`;
  return null;
}

function nativeMachine(): number | null {
  return ({ x64: 62, arm64: 183, ia32: 3, arm: 40, riscv64: 243, ppc64: 21, s390x: 22 } as Record<string, number>)[process.arch] ?? null;
}

function multiarchTriplet(): string {
  return ({ x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf', riscv64: 'riscv64-linux-gnu' } as Record<string, string>)[process.arch] ?? `${process.arch}-linux-gnu`;
}

function systemLibraryDirs(): string[] {
  const t = multiarchTriplet();
  return [`/usr/lib/${t}`, `/lib/${t}`, '/usr/lib64', '/usr/local/lib', '/usr/lib'];
}

/** soname -> paths from the dynamic linker cache, for our architecture. */
function ldconfigEntries(): Map<string, string[]> {
  if (ldconfigCache) return ldconfigCache;
  const map = new Map<string, string[]>();
  const archTag = ({ x64: 'x86-64', arm64: 'AArch64' } as Record<string, string>)[process.arch];
  for (const bin of ['/sbin/ldconfig', '/usr/sbin/ldconfig', 'ldconfig']) {
    try {
      const { stdout } = execaSync(bin, ['-p'], { reject: true, timeout: 5000, env: { LC_ALL: 'C' } });
      // "	libjemalloc.so.2 (libc6,x86-64) => /lib/x86_64-linux-gnu/libjemalloc.so.2"
      for (const line of stdout.split('\n')) {
        const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(.+)$/.exec(line);
        if (!m) continue;
        if (archTag && !m[2].includes(archTag)) continue;
        const list = map.get(m[1]) ?? [];
        list.push(m[3].trim());
        map.set(m[1], list);
      }
      break;
    } catch {
      // Not installed at this path (or not at all): the fixed Debian paths still apply.
    }
  }
  ldconfigCache = map;
  return map;
}
