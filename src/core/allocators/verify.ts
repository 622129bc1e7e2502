// After start: did the environment really take effect? ld.so fails silently on a wrong LD_PRELOAD (a message on
// stderr, exit 0, glibc malloc), so the process's own maps, auxv and environ are the only truth.
import { realpathSync, statSync } from 'node:fs';
import { procExePath, readEnviron, readProcBytes, readProcLink, readProcText } from '../os/proc';
import type { Verification } from '../model';
import { readElf } from './elf';
import { linkedAllocatorOf, profileFamily } from './inspect';
import { ALLOCATOR_SYMBOLS, allocatorFamilyOfLibrary, GLIBC_TUNING_IDS } from './profiles';
import type { AllocatorProfile, BinaryInfo } from './types';

interface Mapping {
  path: string;
  dev: string;
  inode: number;
}

const AT_SECURE = 23;

/** After start: did it take effect? Reads /proc/PID/maps (libraries mapped) and /proc/PID/environ (env-only profiles). */
export function verifyEnvironment(pid: number, profile: AllocatorProfile, binary?: BinaryInfo): Verification {
  let maps: Mapping[];
  try {
    maps = parseMaps(readProcText(pid, 'maps'));
  } catch (e) {
    return notApplied(`cannot read /proc/${pid}/maps (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): the target exited before it could be verified`, null, []);
  }
  const mappedLibraries = [...new Set(maps.filter((m) => /\.so(\.|$)/.test(baseName(m.path))).map((m) => m.path))];
  const exe = exeFacts(pid, binary);
  const preloadMapping = profile.preload ? findMapping(maps, profile.preload) : null;
  const familyMapped = mappedLibraries.find((p) => allocatorFamilyOfLibrary(p) !== null) ?? null;
  // An allocator linked in statically lives in the executable itself: name the executable then.
  const mappedAllocator = preloadMapping?.path ?? familyMapped ?? (exe.linkedAllocator?.includes('static') ? exe.path : null);
  const result = (reason: string | null): Verification =>
    reason === null ? { applied: true, mappedAllocator, mappedLibraries } : notApplied(reason, mappedAllocator, mappedLibraries);

  if (profile.preload) {
    if (preloadMapping) {
      const own = exe.linkedAllocator?.split(' ')[0];
      if (own && own !== profileFamily(profile)) {
        return result(`${exe.path} links its own allocator, ${exe.linkedAllocator}; ${profile.preload} is mapped, but may not be the one allocating, so the run would not measure ${profile.id}`);
      }
      return result(null);
    }
    if (!exists(profile.preload)) {
      return result(`${profile.preload} does not exist, so ld.so ignored it and the target runs on ${mappedAllocator ?? 'glibc malloc'}${profile.debianPackage ? `; install it with \`apt-get install ${profile.debianPackage}\`` : ''}`);
    }
    if (exe.isStatic) return result(`${exe.path} is statically linked (no dynamic loader), so LD_PRELOAD is never read`);
    const secure = secureExecution(pid);
    if (secure) return result(`${exe.path} runs setuid/setgid (${secure}): ld.so's secure-execution mode ignored LD_PRELOAD`);
    const environ = readEnviron(pid);
    const preloadVar = environ?.get('LD_PRELOAD');
    if (environ && !(preloadVar ?? '').split(/[:\s]+/).includes(profile.preload)) {
      return result(`LD_PRELOAD in the target's environment is ${preloadVar === undefined ? 'missing' : `"${preloadVar}"`}, without ${profile.preload}: set it on the target itself, not on a wrapper that drops it`);
    }
    return result(`${profile.preload} is in LD_PRELOAD but not mapped: ld.so could not load it (wrong architecture or a missing dependency; the target's stderr has ld.so's message)`);
  }

  const environ = readEnviron(pid);
  if (!environ) return notApplied(`cannot read /proc/${pid}/environ: the target exited before it could be verified`, mappedAllocator, mappedLibraries);
  for (const [k, v] of Object.entries(profile.env)) {
    const actual = environ.get(k);
    if (actual !== v) {
      return result(`${k}=${v} is missing from the target's environment (${actual === undefined ? `no ${k}` : `it has ${k}=${actual}`}): set it on the target itself, not on a wrapper`);
    }
  }
  // libstdc++ reads GLIBCXX_FORCE_NEW; a dynamically linked program without it mapped never looks at the variable.
  if (profile.id === 'glibcxx-force-new' && !profile.custom && !exe.isStatic && !mappedLibraries.some((l) => /\/libstdc\+\+\.so/.test(l))) {
    return result(`${exe.path} does not use libstdc++ (not mapped), so GLIBCXX_FORCE_NEW has no effect`);
  }
  if (GLIBC_TUNING_IDS.has(profile.id) && !profile.custom) {
    if (mappedAllocator) {
      return result(`${mappedAllocator} serves malloc in the target (${exe.linkedAllocator ? `the binary links ${exe.linkedAllocator}` : 'preloaded or pulled in by a library'}), so it does not run on glibc malloc and ${profile.id} has no effect`);
    }
    const secure = Object.keys(profile.env).length > 0 ? secureExecution(pid) : null;
    if (secure) return result(`${exe.path} runs setuid/setgid (${secure}): glibc ignores MALLOC_* settings in secure-execution mode`);
  }
  return result(null);
}

function notApplied(reason: string, mappedAllocator: string | null, mappedLibraries: string[]): Verification {
  return { applied: false, notAppliedReason: reason, mappedAllocator, mappedLibraries };
}

function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    // address perms offset dev inode path; the path may contain spaces and end in " (deleted)".
    const m = /^\S+\s+\S+\s+\S+\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s+(\/.*)$/.exec(line);
    if (!m || m[2] === '0') continue;
    out.push({ dev: m[1], inode: Number(m[2]), path: m[3].replace(/ \(deleted\)$/, '') });
  }
  return out;
}

/** The mapping of this library file, matched by device and inode (the same file under another path counts). */
function findMapping(maps: Mapping[], file: string): Mapping | null {
  let st;
  try {
    st = statSync(file);
  } catch {
    return null;
  }
  const dev = `${(Math.floor(st.dev / 256) & 0xfff).toString(16).padStart(2, '0')}:${((st.dev & 0xff) | ((Math.floor(st.dev / 4096) & 0xfff00))).toString(16).padStart(2, '0')}`;
  const real = safeRealpath(file);
  return (
    maps.find((m) => m.inode === st.ino && m.dev === dev) ??
    // Overlay filesystems show another device in maps; the same real path and inode is the same file.
    maps.find((m) => m.inode === st.ino && safeRealpath(m.path) === real) ??
    null
  );
}

function exeFacts(pid: number, binary?: BinaryInfo): { path: string; isStatic: boolean; linkedAllocator: string | null } {
  let exePath = binary?.path ?? procExePath(pid);
  try {
    exePath = readProcLink(pid, 'exe');
    // Read through /proc so a replaced or deleted file on disk does not mislead.
    const elf = readElf(procExePath(pid), ALLOCATOR_SYMBOLS);
    if (elf) return { path: exePath, isStatic: elf.interpreter === null, linkedAllocator: linkedAllocatorOf(elf) };
  } catch {
    // Not readable (exited, or a kernel thread): fall back to what the caller inspected.
  }
  return { path: binary?.path ?? exePath, isStatic: binary?.isStatic ?? false, linkedAllocator: binary?.linkedAllocator ?? null };
}

/** A description of the ids when the kernel started the process in secure-execution mode (AT_SECURE), else null. */
function secureExecution(pid: number): string | null {
  let secure = false;
  try {
    const auxv = readProcBytes(pid, 'auxv');
    for (let o = 0; o + 16 <= auxv.length; o += 16) {
      const type = auxv.readBigUInt64LE(o);
      if (type === 0n) break;
      if (type === BigInt(AT_SECURE)) secure = auxv.readBigUInt64LE(o + 8) !== 0n;
    }
  } catch {
    return null;
  }
  if (!secure) return null;
  try {
    const status = readProcText(pid, 'status');
    const uid = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status);
    const gid = /^Gid:\s+(\d+)\s+(\d+)/m.exec(status);
    return `real uid ${uid?.[1]}, effective uid ${uid?.[2]}, real gid ${gid?.[1]}, effective gid ${gid?.[2]}`;
  } catch {
    return 'AT_SECURE set';
  }
}


function exists(file: string): boolean {
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

function safeRealpath(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return file;
  }
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
