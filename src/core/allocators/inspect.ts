// What can be known about a target binary before launching it, and what that means for each profile.
import { existsSync, openSync, readSync, closeSync, statSync } from 'node:fs';
import { TargetError } from '../errors';
import { readElf, type ElfFacts } from './elf';
import { ALLOCATOR_SYMBOLS, allocatorFamilyOfLibrary, allocatorFamilyOfSymbols, GLIBC_TUNING_IDS } from './profiles';
import type { AllocatorProfile, BinaryInfo } from './types';

const S_ISUID = 0o4000;
const AS_SHIPPED = 'as-shipped';
const S_ISGID = 0o2000;

/** Reads the binary's ELF headers and mode: static or dynamic, setuid/setgid to another identity, own allocator. */
export function inspectBinary(file: string): BinaryInfo {
  let st;
  try {
    st = statSync(file);
  } catch {
    throw new TargetError(`Cannot inspect ${file}: it does not exist. Check the target's command path.`, 'input');
  }
  let setuidOwner: number | null = null;
  // ld.so's secure mode starts when the effective ids differ from the real ones after exec.
  if (st.mode & S_ISUID && st.uid !== process.getuid?.()) setuidOwner = st.uid;
  else if (st.mode & S_ISGID && st.gid !== process.getgid?.()) setuidOwner = st.gid;
  let elf: ElfFacts | null = null;
  try {
    elf = readElf(file, ALLOCATOR_SYMBOLS);
  } catch (e) {
    throw new TargetError(`Cannot read ${file}: ${(e as Error).message}.`, 'input');
  }
  if (!elf) {
    // A script: the interpreter named on its #! line is the program ld.so loads.
    const interp = shebangInterpreter(file);
    if (interp && interp !== file && existsSync(interp) && !interp.endsWith('/env')) {
      const inner = inspectBinary(interp);
      return { ...inner, path: file, setuidOwner };
    }
    return { path: file, isStatic: false, setuidOwner, linkedAllocator: null };
  }
  return { path: file, isStatic: elf.interpreter === null, setuidOwner, linkedAllocator: linkedAllocatorOf(elf) };
}

/** "jemalloc (DT_NEEDED libjemalloc.so.2)", "mimalloc (static symbols)" or null. */
export function linkedAllocatorOf(elf: ElfFacts): string | null {
  for (const soname of elf.needed) {
    const family = allocatorFamilyOfLibrary(soname);
    if (family) return `${family} (DT_NEEDED ${soname})`;
  }
  const family = allocatorFamilyOfSymbols(elf.definedSymbols);
  return family ? `${family} (static symbols)` : null;
}

/** The allocator family of a profile ("jemalloc", ...), or null for glibc and env-only profiles. */
export function profileFamily(profile: AllocatorProfile): string | null {
  return profile.preload ? (allocatorFamilyOfLibrary(profile.preload) ?? `custom:${profile.preload}`) : null;
}

/** Why this profile cannot take effect on this binary, before launching (null when it can). */
export function preflight(profile: AllocatorProfile, binary: BinaryInfo): string | null {
  if (!profile.available) return profile.unavailableReason ?? `${profile.id} is not available on this system`;
  const ownFamily = binary.linkedAllocator?.split(' ')[0] ?? null;
  if (profile.preload) {
    if (!existsSync(profile.preload)) return `${profile.preload} does not exist${profile.debianPackage ? `; install it with \`apt-get install ${profile.debianPackage}\`` : ''}`;
    if (binary.isStatic) {
      return `${binary.path} is statically linked (no dynamic loader), so LD_PRELOAD is never read; build it dynamically to compare allocators`;
    }
    if (binary.setuidOwner !== null) {
      return `${binary.path} is setuid/setgid (owner ${binary.setuidOwner}) and we run as uid ${process.getuid?.()}: ld.so's secure-execution mode ignores LD_PRELOAD paths with a slash; run it as its owner or use a copy without the setuid bit`;
    }
    if (ownFamily && ownFamily !== profileFamily(profile)) {
      return `${binary.path} links its own allocator, ${binary.linkedAllocator}: ${profile.preload} would be mapped, but may not be the one allocating; relink the binary against glibc to compare allocators`;
    }
    return null;
  }
  if (profile.id === AS_SHIPPED && !profile.custom && !ownFamily) {
    return `${binary.path} links no allocator of its own: as shipped it runs on glibc malloc, which the glibc environment measures`;
  }
  if (GLIBC_TUNING_IDS.has(profile.id) && !profile.custom) {
    if (ownFamily) return `${binary.path} links its own allocator, ${binary.linkedAllocator}, so it does not run on glibc malloc and ${profile.id} has no effect (the as-shipped environment measures it as it ships)`;
    if (binary.setuidOwner !== null && Object.keys(profile.env).length > 0) {
      return `${binary.path} is setuid/setgid (owner ${binary.setuidOwner}): glibc ignores MALLOC_* settings in secure-execution mode; run it as its owner`;
    }
  }
  return null;
}


function shebangInterpreter(file: string): string | null {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.toString('utf8', 0, n);
    if (!text.startsWith('#!')) return null;
    const line = text.slice(2).split('\n')[0].trim();
    return line.split(/\s+/)[0] || null;
  } finally {
    closeSync(fd);
  }
}
