// valgrind massif: heap snapshots over time; works on static binaries too (parsed by ../massif.ts).
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import { readMassifProfile } from '../massif';
import { ProfileFormatError } from '../model';
import { terminateGroup } from '../stop';
import { onPath, elfCheck } from './binary';
import type { AttributionBackend } from './types';

/** valgrind massif: heap snapshots over time; works on static binaries too. */
export function massifBackend(): AttributionBackend {
  return {
    id: 'massif',
    label: 'valgrind massif (snapshots)',
    cost: 'about 10x slower, threads run one at a time; no call counts, no leaks',
    capabilities: { growth: true, peak: true, calls: false, leaked: false },
    environment: 'glibc',
    available() {
      if (!onPath('valgrind')) return { ok: false, reason: 'valgrind is not installed', debianPackage: 'valgrind' };
      return { ok: true, reason: null, debianPackage: 'valgrind' };
    },
    canApplyTo: (binary) => elfCheck(binary, false),
    prepare(launch, envDir) {
      const out = path.join(envDir, 'massif.out');
      return {
        command: 'valgrind',
        args: ['--tool=massif', '--time-unit=ms', '--detailed-freq=1', '--max-snapshots=200', '--threshold=0.1', `--massif-out-file=${out}`, launch.command, ...launch.args],
        env: { ...launch.env },
      };
    },
    // valgrind is the target's own process and writes massif.out when it gets SIGTERM.
    terminate: terminateGroup,
    async collect(envDir) {
      const name = readdirSync(envDir).find((n) => n.startsWith('massif.out'));
      if (!name) throw new ProfileFormatError(path.join(envDir, 'massif.out'), null, `massif wrote no output (did the target start? its output is in stdout.log and stderr.log in ${path.dirname(envDir)})`);
      return readMassifProfile(path.join(envDir, name));
    },
    format: {
      kind: 'massif',
      inFolder(dir, names) {
        const ms = names.find((n) => n.startsWith('massif.out'));
        return ms ? path.join(dir, ms) : null;
      },
      isFile: (base) => base.startsWith('massif.out'),
      read: readMassifProfile,
    },
  };
}
