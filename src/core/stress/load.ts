// Running one phase's load: the entry point the run orchestrator calls; the drivers are in drivers/.
import type { LoadStats } from '../model';
import { driverFor } from './drivers';
import { emptyStats, type LoadContext } from './loadContext';
import type { LoadSpec } from './scenario';

/** Runs the load of one phase until its duration (or request count) is reached or ctx.signal aborts. */
export async function runLoad(spec: LoadSpec, ctx: LoadContext): Promise<LoadStats> {
  if (ctx.signal.aborted) return emptyStats(0);
  return driverFor(spec).run(spec, ctx);
}

/** Checks a phase's load before any environment starts (a non-loopback URL is refused unless allowed). */
export function preflightLoad(spec: LoadSpec, opts: { allowRemote: boolean }): void {
  driverFor(spec).preflight(spec, opts);
}
