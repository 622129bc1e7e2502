// The attribution backends, as a registry: each wraps a launch (prepare) and reads what it recorded (collect).
// The run orchestrator only needs prepare/collect; adding a backend is one more entry here.
import { existsSync, realpathSync, statSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { readElfInfo, findSymbolizer } from './symbolize';
import { composePreload } from '../os/env';
import { which } from '../os/which';
import { terminateGroup, terminateTarget } from './stop';
import { readJeprofProfile } from './jeprof';
import { readHeaptrackProfile } from './heaptrack';
import { readMassifProfile } from './massif';
import { ProfileFormatError, UnknownBackendError, type AllocationProfile, type Capabilities } from './model';

/** A process to start: the target's command line and the variables to set on top of the inherited environment. */
export interface Launch {
  command: string;
  args: string[];
  env: Record<string, string>;
}

export interface CollectContext {
  /** Epoch milliseconds when the (wrapped) target was started. */
  startedAtMs: number;
}

export interface Availability {
  ok: boolean;
  reason: string | null;
  debianPackage: string | null;
}

export interface AttributionBackend {
  id: string;
  label: string;
  /** Typical slowdown of the target, in words (from measurements on the demo service). */
  cost: string;
  capabilities: Capabilities;
  available(): Availability;
  canApplyTo(binary: string): { ok: boolean; reason: string | null };
  /** Wraps the launch so the backend records into envDir (which must exist). */
  prepare(launch: Launch, envDir: string): Launch;
  /**
   * Asks the target to stop (SIGTERM), given the process group it was started in. heaptrack must not get the
   * group signal: its interpreter and compressor would die with the target and leave an empty trace.
   */
  terminate(pgid: number, binary: string): void;
  /** Reads what the backend recorded in envDir after the target exited. */
  collect(envDir: string, ctx: CollectContext): Promise<AllocationProfile>;
}

export const JEMALLOC_PATHS = ['/usr/lib/x86_64-linux-gnu/libjemalloc.so.2', '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2', '/usr/lib64/libjemalloc.so.2', '/usr/local/lib/libjemalloc.so.2'];

const onPath = (exe: string): string | null => which(exe);

function elfCheck(binary: string, needDynamic: boolean): { ok: boolean; reason: string | null } {
  const resolved = binary.includes('/') ? binary : onPath(binary);
  if (!resolved || !existsSync(resolved)) return { ok: false, reason: `${binary} was not found` };
  const elf = readElfInfo(realpathSync(resolved));
  if (!elf) return { ok: false, reason: `${binary} is not a 64-bit ELF executable (a script or wrapper? profile the real binary)` };
  if (needDynamic && !elf.dynamic) return { ok: false, reason: `${binary} is statically linked, so LD_PRELOAD cannot reach its allocator; use the massif backend` };
  return { ok: true, reason: null };
}

export interface JemallocProfOptions {
  /** Dump every 2^N bytes allocated (default 24: 16 MiB). Lower for small programs, higher for busy services. */
  lgProfInterval?: number;
  /** Sample every 2^N bytes on average (default 17: 128 KiB, about 1.05x cost). */
  lgProfSample?: number;
}

/** jemalloc's own sampling heap profiler, with interval dumps. */
export function jemallocProfBackend(opts: JemallocProfOptions = {}): AttributionBackend {
  const lib = () => JEMALLOC_PATHS.find((p) => existsSync(p)) ?? null;
  return {
    id: 'jemalloc-prof',
    label: 'jemalloc heap profiling (sampled)',
    cost: 'about 1.05x of plain jemalloc; sizes are sampled estimates; runs the target on jemalloc',
    capabilities: { growth: true, peak: true, calls: true, leaked: false },
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
      const preload = composePreload([lib() ?? JEMALLOC_PATHS[0]], launch.env.LD_PRELOAD);
      const mallocConf = [launch.env.MALLOC_CONF, conf].filter(Boolean).join(',');
      // Set on the target itself only: a wrapper would write dumps of its own.
      return { command: launch.command, args: launch.args, env: { ...launch.env, LD_PRELOAD: preload, MALLOC_CONF: mallocConf } };
    },
    terminate: terminateGroup,
    collect: (envDir, ctx) => readJeprofProfile([envDir], { startedAtMs: ctx.startedAtMs }),
  };
}

/** heaptrack: every allocation traced, symbolized by heaptrack itself. */
export function heaptrackBackend(): AttributionBackend {
  return {
    id: 'heaptrack',
    label: 'heaptrack (every allocation)',
    cost: 'about 12x slower; exact counts, peak, temporary and leaked',
    capabilities: { growth: true, peak: true, calls: true, leaked: true },
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
      if (!file) throw new ProfileFormatError(path.join(envDir, 'heaptrack.zst'), null, 'heaptrack wrote no trace (did the target start? see target.log in the run folder)');
      return readHeaptrackProfile(file);
    },
  };
}

/** valgrind massif: heap snapshots over time; works on static binaries too. */
export function massifBackend(): AttributionBackend {
  return {
    id: 'massif',
    label: 'valgrind massif (snapshots)',
    cost: 'about 10x slower, threads run one at a time; no call counts, no leaks',
    capabilities: { growth: true, peak: true, calls: false, leaked: false },
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
      if (!name) throw new ProfileFormatError(path.join(envDir, 'massif.out'), null, 'massif wrote no output (did the target start? see target.log in the run folder)');
      return readMassifProfile(path.join(envDir, name));
    },
  };
}

/** Every backend, in order of preference (cheapest first). */
export function listBackends(): AttributionBackend[] {
  return [jemallocProfBackend(), heaptrackBackend(), massifBackend()];
}

/** The backend with this id; throws a typed error naming the known ones. */
export function getBackend(id: string, opts: { jemalloc?: JemallocProfOptions } = {}): AttributionBackend {
  if (id === 'jemalloc-prof') return jemallocProfBackend(opts.jemalloc);
  const b = listBackends().find((x) => x.id === id);
  if (!b) throw new UnknownBackendError(id, listBackends().map((x) => x.id));
  return b;
}
