// Attribution backends: hotspots to source lines. The public surface of src/core/profilers.
export * from './model';
export * from './backends';
export { rankHotspots, slopePerMinute, supportedRankings, type Hotspot, type RankOptions, type TimeWindow } from './rank';
export { mapToWorkspace, resolveSourceFile, clearPathMapCache, type PathMapOptions, type SourceResolution } from './pathmap';
export { openProfile, detectProfileKind, readProfileJson, PROFILE_JSON, type ProfileKind } from './open';
export { diffProfiles, type SiteDiff } from './diff';
export { findProfiles, hasProfiles, type ProfileLocation } from './locate';
export { allocatedWithError, formatCount, hotspotFigures, localFile } from './display';
export { terminateTarget, terminateGroup } from './stop';
export { readHeaptrackProfile } from './heaptrack';
export { readMassifProfile } from './massif';
export { readJeprofProfile, parseHeapDump, unbias } from './jeprof';
export { describeFrame, isSystemFrame, userFrameIndex } from './frames';
export { profilingHooks, loadWindows } from './scenarioHooks';
