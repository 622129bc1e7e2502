// The shape of a load driver: its part of the scenario schema, the checks zod cannot express, a check before
// the run starts, and the phase's load itself.
import type { z } from 'zod';
import type { LoadStats } from '../../model';
import type { ListSource } from '../fields';
import type { LoadContext } from '../loadContext';

/** A problem in a load spec, at a path relative to the `load` object (and, in a template, an index into it). */
export interface DriverProblem {
  path: (string | number)[];
  message: string;
  /** 0-based index into the decoded string at path. */
  stringIndex?: number;
}

export interface LoadDriver<Schema extends z.ZodObject = z.ZodObject> {
  /** The value of `driver` in the scenario. */
  id: string;
  /** The load object's schema; its `driver` field is the literal id. */
  schema: Schema;
  /** It can end a phase after `requests` requests. */
  countsRequests: boolean;
  /** What the schema cannot check; scenarioLists are the names of the scenario's own lists. */
  check?(spec: z.output<Schema>, scenarioLists: ReadonlySet<string>): DriverProblem | null;
  /** The lists the load declares itself (their files are checked to exist). */
  lists?(spec: z.output<Schema>): Record<string, ListSource> | undefined;
  /** The spec with the scenario's lists merged under its own. */
  withLists?(spec: z.output<Schema>, scenarioLists: Record<string, ListSource>): z.output<Schema>;
  /** Throws a typed error before any environment starts (e.g. a non-loopback URL). */
  preflight(spec: z.output<Schema>, opts: { allowRemote: boolean }): void;
  /** Runs the load of one phase until its duration (or request count) is reached or ctx.signal aborts. */
  run(spec: z.output<Schema>, ctx: LoadContext): Promise<LoadStats>;
}
