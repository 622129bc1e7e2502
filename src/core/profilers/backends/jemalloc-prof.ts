// jemalloc's own sampling heap profiler, with interval dumps (parsed by ../jeprof.ts).
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { allocatorFamilyOfLibrary } from '../../allocators/profiles';
import { composePreload } from '../../os/env';
import { readJeprofProfile } from '../jeprof';
import { terminateGroup } from '../stop';
import { findSymbolizer } from '../symbolize';
import { elfCheck } from './binary';
import type { AttributionBackend, BackendOptions } from './types';

export const JEMALLOC_PATHS = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2', '/usr/lib64/libjemalloc.so.2', '/usr/local/lib/libjemalloc.so.2'];

/** jemalloc's own sampling heap profiler, with interval dumps. */
export function jemallocProfBackend(options: BackendOptions = {}): AttributionBackend {
  const opts = options.jemalloc ?? {};
  const lib = () => JEMALLOC_PATHS.find((p) => existsSync(p)) ?? null;
  return {
    id: 'jemalloc-prof',
    label: 'jemalloc heap profiling (sampled; swaps the allocator for jemalloc)',
    cost: 'about 1.05x of plain jemalloc; sizes are sampled estimates; swaps the allocator: the target runs on jemalloc, not on the allocator it ships with (use probe-sampled to keep it)',
    capabilities: { growth: true, peak: true, calls: true, leaked: false },
    environment: 'jemalloc',
    available() {
      if (!lib()) return { ok: false, reason: 'libjemalloc.so.2 was not found', debianPackage: 'libjemalloc2' };
      if (!findSymbolizer()) return { ok: false, reason: 'neither llvm-symbolizer nor addr2line is installed', debianPackage: 'binutils' };
      return { ok: true, reason: null, debianPackage: 'libjemalloc2' };
    },
    canApplyTo: (binary) => elfCheck(binary, true),
    prepare(launch, envDir) {
      const conf = [
        'prof:true',
        'prof_accum:true',
        `lg_prof_sample:${opts.lgProfSample ?? 17}`,
        `lg_prof_interval:${opts.lgProfInterval ?? 24}`,
        `prof_prefix:${path.join(envDir, 'jeprof')}`,
      ].join(',');
      // Under the jemalloc environment the discovered library is preloaded already: adding another path in front
      // would load two jemallocs while verification still says "applied".
      const has = (launch.env.LD_PRELOAD ?? '').split(/[:\s]+/).some((e) => e && allocatorFamilyOfLibrary(e) === 'jemalloc');
      const preload = has ? launch.env.LD_PRELOAD! : composePreload([lib() ?? JEMALLOC_PATHS[0]], launch.env.LD_PRELOAD);
      const mallocConf = [launch.env.MALLOC_CONF, conf].filter(Boolean).join(',');
      // Set on the target itself only: a wrapper would write dumps of its own.
      return { command: launch.command, args: launch.args, env: { ...launch.env, LD_PRELOAD: preload, MALLOC_CONF: mallocConf } };
    },
    fewSnapshotsHint: 'Dump more often with a lower --lg-prof-interval (each step halves the bytes between dumps).',
    terminate: terminateGroup,
    collect: (envDir, ctx) => readJeprofProfile([envDir], { startedAtMs: ctx.startedAtMs }),
    format: {
      kind: 'jeprof',
      inFolder: (dir, names) => (names.some((n) => n.endsWith('.heap')) ? dir : null),
      isFile: (base) => base.endsWith('.heap'),
      read: (file) => readJeprofProfile([file]),
    },
  };
}
