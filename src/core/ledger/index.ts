// The RSS ledger: the preload probe's reader and the split of RSS into live heap / allocator-held / other.
export { readProbe, probeLibraryPath, probeEnvironment, probeApplies, childProbePath, ProbeNotBuiltError, ProbeLayoutError } from './probe';
export type { ProbeReading, ProbeSamplingReading, ProbeStats, ProbeAllocator, ProbeMap } from './probe';
export { ledger, measuredBytes, FRESH_FIGURES_MS, LEDGER_PARTS, STACK_ESTIMATE_BYTES } from './ledger';
export type { Ledger } from './ledger';
export { NoProbeError, probeFileOf, requestTrim, trimCallName, trimEvent, trimProcess, trimRunFolder } from './trim';
export type { TrimResult } from './trim';
