// heaptrack: every allocation traced, symbolized by heaptrack itself (parsed by ../heaptrack.ts).
import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { readHeaptrackProfile } from '../heaptrack';
import { ProfileFormatError } from '../model';
import { terminateTarget } from '../stop';
import { onPath, elfCheck } from './binary';
import type { AttributionBackend } from './types';

/** heaptrack: every allocation traced, symbolized by heaptrack itself. */
export function heaptrackBackend(): AttributionBackend {
  return {
    id: 'heaptrack',
    label: 'heaptrack (every allocation)',
    cost: 'about 12x slower; exact counts, peak, temporary, and what was not freed at exit',
    capabilities: { growth: true, peak: true, calls: true, leaked: true },
    environment: 'glibc',
    available() {
      if (!onPath('heaptrack')) return { ok: false, reason: 'heaptrack is not installed', debianPackage: 'heaptrack' };
      if (!onPath('zstd')) return { ok: false, reason: 'zstd is not installed (heaptrack traces are zstd-compressed)', debianPackage: 'zstd' };
      return { ok: true, reason: null, debianPackage: 'heaptrack' };
    },
    canApplyTo: (binary) => elfCheck(binary, true),
    prepare(launch, envDir) {
      // heaptrack 1.4 does not substitute %p in -o; an explicit name it completes with .zst.
      return { command: 'heaptrack', args: ['-o', path.join(envDir, 'heaptrack'), '--', launch.command, ...launch.args], env: { ...launch.env } };
    },
    terminate: terminateTarget,
    async collect(envDir) {
      const file = ['heaptrack.zst', 'heaptrack.gz', 'heaptrack'].map((n) => path.join(envDir, n)).find((p) => existsSync(p) && statSync(p).size > 0);
      if (!file) throw new ProfileFormatError(path.join(envDir, 'heaptrack.zst'), null, `heaptrack wrote no trace (did the target start? its output is in stdout.log and stderr.log in ${path.dirname(envDir)})`);
      return readHeaptrackProfile(file);
    },
    format: {
      kind: 'heaptrack',
      inFolder(dir, names) {
        const ht = names.find((n) => /^heaptrack\..*\.(zst|gz)$|\.heaptrack\.(zst|gz)$|^trace\.(zst|gz)$/.test(n));
        return ht ? path.join(dir, ht) : null;
      },
      isFile: (base) => /\.(zst|gz)$/.test(base),
      read: readHeaptrackProfile,
    },
  };
}
