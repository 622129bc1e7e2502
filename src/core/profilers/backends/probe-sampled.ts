// The probe's own sampled heap profiler (native/probe/sampling.c): stacks of a Poisson sample of the allocated
// bytes, under whatever allocator the target runs on, at a few percent of cost (bench/RESULTS.md, "Profilers").
import { existsSync, realpathSync } from 'node:fs';
import { inspectBinary } from '../../allocators/inspect';
import { probeApplies, probeLibraryPath } from '../../ledger/probe';
import { readProbeSampledProfile, findSampleFiles, SAMPLE_FILE } from '../probeSampled';
import { terminateGroup } from '../stop';
import { findSymbolizer } from '../symbolize';
import { elfCheck, onPath } from './binary';
import type { AttributionBackend, BackendOptions } from './types';

/** Mean sampling interval by default: 512 KiB (jemalloc's lg_prof_sample default and Go's MemProfileRate). */
export const DEFAULT_SAMPLE_INTERVAL = 524288;

/** The probe's sampled heap profiler, in the target's own allocator. */
export function probeSampledBackend(options: BackendOptions = {}): AttributionBackend {
  const opts = options.probe ?? {};
  const interval = opts.intervalBytes ?? DEFAULT_SAMPLE_INTERVAL;
  return {
    id: 'probe-sampled',
    label: 'Allocator Lab probe (sampled stacks, any allocator)',
    cost: `a few percent at ${Math.round(interval / 1024)} KiB per sample; sizes are sampled estimates; keeps the target's own allocator`,
    capabilities: { growth: true, peak: true, calls: true, leaked: true },
    environment: 'glibc',
    available() {
      if (!existsSync(probeLibraryPath())) return { ok: false, reason: `the probe ${probeLibraryPath()} is not built (run \`make -C native\`)`, debianPackage: 'build-essential' };
      if (!findSymbolizer()) return { ok: false, reason: 'neither llvm-symbolizer nor addr2line is installed', debianPackage: 'binutils' };
      return { ok: true, reason: null, debianPackage: null };
    },
    anyEnvironment: true,
    canApplyTo(binary) {
      const elf = elfCheck(binary, true);
      if (!elf.ok) return elf;
      const reason = probeApplies(inspectBinary(realpathSync(binary.includes('/') ? binary : onPath(binary)!)));
      return reason ? { ok: false, reason } : { ok: true, reason: null };
    },
    prepare(launch, envDir) {
      const library = probeLibraryPath();
      const rest = (launch.env.LD_PRELOAD ?? '').split(/[:\s]+/).filter((e) => e && e !== library);
      const env: Record<string, string> = {
        ...launch.env,
        // First, so that its malloc forwards to the allocator under test (or glibc).
        LD_PRELOAD: [library, ...rest].join(':'),
        ALLOCLAB_PROBE_SAMPLE_DIR: envDir,
        ALLOCLAB_PROBE_SAMPLE_INTERVAL: String(interval),
      };
      if (opts.maxDepth) env.ALLOCLAB_PROBE_SAMPLE_DEPTH = String(opts.maxDepth);
      if (opts.unwinder) env.ALLOCLAB_PROBE_UNWIND = opts.unwinder;
      return { command: launch.command, args: launch.args, env };
    },
    terminate: terminateGroup,
    collect: (envDir, ctx) => readProbeSampledProfile(envDir, { pid: ctx.pid }),
    format: {
      kind: 'probe-sampled',
      inFolder: (dir) => (findSampleFiles(dir).length ? dir : null),
      isFile: (base) => SAMPLE_FILE.test(base),
      read: (file) => readProbeSampledProfile(file),
    },
  };
}
