// Whether a backend can reach a binary's allocator: the checks the backends share.
import { existsSync, realpathSync } from 'node:fs';
import { which } from '../../os/which';
import { readElfInfo } from '../symbolize';

/** The executable called exe on PATH, or null. */
export const onPath = (exe: string): string | null => which(exe);

/** Whether binary is a 64-bit ELF executable (and, with needDynamic, one that LD_PRELOAD can reach). */
export function elfCheck(binary: string, needDynamic: boolean): { ok: boolean; reason: string | null } {
  const resolved = binary.includes('/') ? binary : onPath(binary);
  if (!resolved || !existsSync(resolved)) return { ok: false, reason: `${binary} was not found` };
  const elf = readElfInfo(realpathSync(resolved));
  if (!elf) return { ok: false, reason: `${binary} is not a 64-bit ELF executable (a script or wrapper? profile the real binary)` };
  if (needDynamic && !elf.dynamic) return { ok: false, reason: `${binary} is statically linked, so LD_PRELOAD cannot reach its allocator; use the massif backend` };
  return { ok: true, reason: null };
}
