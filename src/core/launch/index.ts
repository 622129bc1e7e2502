// Launching targets: executable checks, process-group spawn, readiness, stop, and the live-group registry.
export { launchTarget, type LaunchSpec, type ResolvedReady, type TargetProcess, type ExitStatus, type LineListener } from './target';
export { resolveExecutable } from './resolve';
export { findFreePort, portOwner } from './ports';
export { killAllTargets, liveTargetGroups } from './registry';
