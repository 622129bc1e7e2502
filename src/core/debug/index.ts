// Debugging sessions under an allocator environment: launch-configuration injection, debuggee discovery,
// snapshots at a breakpoint. Pure Node; the editor side lives in src/vscode/debug/.
export * from './inject';
export * from './procfs';
export { findDebugAdapter, LLDB_DAP_CANDIDATES, type DebugAdapterFound } from './adapter';
