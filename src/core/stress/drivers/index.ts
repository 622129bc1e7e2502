// The load drivers, as a registry: one file each, listed here. The scenario's `load` union is built from this
// list, so a new driver is one file in this folder plus one line in LOAD_DRIVERS.
import { commandDriver } from './command';
import { httpDriver } from './http';
import type { LoadDriver } from './types';

export type { DriverProblem, LoadDriver } from './types';
export { commandLoadSchema, driverLogName, parseDriverOutput, type CommandLoadSpec } from './command';
export { httpLoadSchema, type HttpLoadSpec } from './http';

export const LOAD_DRIVERS = [httpDriver, commandDriver] as const;

type SchemasOf<T extends readonly { schema: unknown }[]> = { -readonly [K in keyof T]: T[K]['schema'] };
type Schemas = SchemasOf<typeof LOAD_DRIVERS>;

/** The drivers' schemas, in list order: the options of the scenario's discriminated `load` union. */
export const LOAD_SCHEMAS = LOAD_DRIVERS.map((d) => d.schema) as unknown as Schemas;

/** The driver of a validated load spec (its `driver` field was checked against this list by the schema). */
export function driverFor(spec: { driver: string }): LoadDriver {
  const driver = LOAD_DRIVERS.find((d) => d.id === spec.driver);
  if (!driver) throw new Error(`no load driver "${spec.driver}"`);
  return driver as LoadDriver;
}
