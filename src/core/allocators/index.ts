// Allocator environments: the registry of profiles, environment composition, binary inspection, verification.
export type { AllocatorProfile, BinaryInfo, CustomAllocatorSpec, DiscoveryOptions } from './types';
export { discoverAllocators, resolveEnvironments, clearAllocatorCache, shippedEnvironments } from './discovery';
export { composeEnvironment } from './compose';
export { inspectBinary, preflight } from './inspect';
export { verifyEnvironment } from './verify';
export { BUILTIN_PROFILES } from './profiles';
