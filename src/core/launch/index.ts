// Launching targets: executable checks, process-group spawn, readiness, stop. Ports and the live-group registry
// are the operating system's part (os/).
export { launchTarget, type LaunchSpec, type ResolvedReady, type TargetProcess, type ExitStatus, type LineListener } from './target';
export { resolveExecutable } from './resolve';
export { findFreePort, portOwner } from '../os/net';
export { killAllTargets, liveTargetGroups } from '../os/groups';
