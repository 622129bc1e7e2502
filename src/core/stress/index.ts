// The stress module's public surface: scenario model, thresholds, and the load entry point.
export * from './scenario';
export * from './thresholds';
export * from './templates';
export { preflightLoad, runLoad } from './load';
export { emptyStats, loadVariables, substitute, type LoadContext } from './loadContext';
export { assertLoopback, isLoopbackHost } from '../os/net';
export { driverFor, driverLogName, LOAD_DRIVERS, parseDriverOutput, type DriverProblem, type LoadDriver } from './drivers';
export { resolveLists } from './lists';
export { scenarioJsonSchema, scenarioJsonSchemaText, SCENARIO_SCHEMA_FILE } from './jsonSchema';
