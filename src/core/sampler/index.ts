// The RSS sampler: procfs readings of a process tree, on a worker thread, as batches of Samples.
export { processTree, sampleOnce, startSampler } from './sampler';
export type { RssSampler, SamplerOptions, SamplerPriority, SamplerSummary, SamplerTiming, SleepMode } from './sampler';
