// What a run folder must hold to be read: run.json, sample lines and event lines checked with zod before any
// layer sees them, so a hand-edited, truncated or foreign file is a clear error (or a skipped line), never a
// crash further on. Objects are loose: fields added by newer versions pass through (add, never rename).
import { z } from 'zod';
import type { EnvironmentRecord, RunEvent, RunRecord, Sample } from '../model';

const num = z.number();
const count = z.number().min(0);

export const sampleSchema = z.looseObject({
  t: num,
  rssBytes: count,
  anonBytes: count.optional(),
  fileBytes: count.optional(),
  shmemBytes: count.optional(),
  pssBytes: count.optional(),
  cpuMs: count.optional(),
  threads: count.optional(),
  processes: count.optional(),
  liveHeapBytes: num.optional(),
  allocatorHeldBytes: num.optional(),
  threadStacksBytes: num.optional(),
  allocatorMetadataBytes: num.optional(),
  directMmapBytes: num.optional(),
  lazyFreeBytes: num.optional(),
  probeOverheadBytes: num.optional(),
  otherAnonBytes: num.optional(),
  allocatorFiguresAgeMs: num.optional(),
  // A damaged publication is dropped from its sample, which stays.
  allocatorStats: z.looseObject({ allocator: z.string(), figures: z.record(z.string(), num), ageMs: num }).optional().catch(undefined),
});

export const verificationSchema = z.looseObject({
  applied: z.boolean(),
  notAppliedReason: z.string().optional(),
  mappedAllocator: z.string().nullable(),
  mappedLibraries: z.array(z.string()),
});

const phaseKind = z.enum(['warmup', 'load', 'idle']);

export const loadStatsSchema = z.looseObject({
  requests: count,
  errors: z.looseObject({ status: count, connect: count, timeout: count, other: count }),
  durationMs: count,
  throughputRps: count,
  redirects: count.optional(),
  latencyMs: z.looseObject({ p50: num, p90: num, p99: num, max: num }).optional(),
  parsed: z.boolean().optional(),
});

const phaseEndReason = z.enum(['duration', 'driver-exit', 'requests', 'settled', 'cancelled']);
const settledOn = z.enum(['class', 'comparison', 'undecided']);

export const eventSchema = z.discriminatedUnion('type', [
  z.looseObject({ t: num, type: z.literal('spawn'), pid: num, command: z.string(), args: z.array(z.string()) }),
  z.looseObject({ t: num, type: z.literal('ready'), how: z.string() }),
  z.looseObject({ t: num, type: z.literal('verified'), verification: verificationSchema }),
  z.looseObject({ t: num, type: z.literal('phase-start'), phase: z.string(), kind: phaseKind, index: num }),
  z.looseObject({ t: num, type: z.literal('phase-end'), phase: z.string(), kind: phaseKind, index: num, load: loadStatsSchema.optional(),
    reason: phaseEndReason.optional().catch(undefined), settledOn: settledOn.optional().catch(undefined) }),
  z.looseObject({ t: num, type: z.literal('exit'), code: num.nullable(), signal: z.string().nullable(), expected: z.boolean() }),
  z.looseObject({ t: num, type: z.literal('debug-stop'), reason: z.string(), description: z.string().optional(), threadId: num.optional() }),
  z.looseObject({ t: num, type: z.literal('trim'), pid: num, rssBeforeBytes: count, rssAfterBytes: count, returnedBytes: num, allocator: z.string() }),
  z.looseObject({ t: num, type: z.literal('note'), level: z.enum(['info', 'warning', 'error']), message: z.string() }),
]);
/** An event type this version does not know (written by a newer one): kept, with only its time checked. */
const futureEventSchema = z.looseObject({ t: num, type: z.string() });
const knownEventTypes = new Set<string>(eventSchema.options.map((o) => o.shape.type.value));

// Every event type of the model has a schema here: a type added to RunEvent without one fails to compile (its lines
// would otherwise be dropped as unreadable when the run is opened).
type UncheckedEventType = Exclude<RunEvent['type'], z.infer<typeof eventSchema>['type']>;
const everyEventChecked: [UncheckedEventType] extends [never] ? true : UncheckedEventType = true;
void everyEventChecked;

const nullableNum = num.nullable();

const trajectoryClass = z.enum(['rising', 'levelling-off', 'flat', 'falling', 'oscillating', 'too-short']);
const interval = z.tuple([num, num]).nullable();

/** A trajectory (analysis/trajectory.ts); a damaged one is dropped, and the metrics holding it recomputed. */
const trajectorySchema = z.looseObject({
  class: trajectoryClass, startMs: num, endMs: num, steadyBytes: nullableNum, meanBytes: nullableNum, peakBytes: nullableNum,
  slopeBytesPerMin: nullableNum, slopeIntervalBytesPerMin: interval, bandBytesPerMin: nullableNum, rampEndMs: nullableNum,
  rampRiseBytes: nullableNum, spreadBytes: nullableNum, settledPoints: count, effectivePoints: nullableNum, bucketMs: num,
  needMs: nullableNum, need: z.string().nullable(),
});

const findings = z.enum(['leak', 'allocator-retention', 'application-memory', 'non-heap-growth', 'stable', 'inconclusive']);

/** The diagnosis (analysis/diagnosis.ts); a damaged one is dropped and derived again from the metrics. */
const diagnosisSchema = z.looseObject({
  finding: findings,
  confidence: z.enum(['high', 'medium', 'low']),
  summary: z.string(),
  next: z.string().nullable(),
  evidence: z.array(z.looseObject({ env: z.string().nullable(), metric: z.string(), value: nullableNum, unit: z.string(), text: z.string() })),
  environments: z.record(z.string(), z.looseObject({
    env: z.string(), label: z.string(), trajectory: trajectoryClass, steadyRssBytes: nullableNum, growthBytesPerMin: nullableNum,
    growthIntervalBytesPerMin: interval, liveHeapTrajectory: trajectoryClass.nullable(),
  })),
  recommendation: z.looseObject({ env: z.string(), setting: z.string(), memoryRatio: num, throughputRatio: nullableNum, p99Ratio: nullableNum, text: z.string() }).nullable(),
  habits: z.array(z.looseObject({ allocator: z.string(), habit: z.string(), evidence: z.string(), advice: z.string().nullable() })),
  caveats: z.array(z.string()).default([]),
});

const phaseMetricsSchema = z.looseObject({
  phase: z.string(), kind: phaseKind, index: num, startMs: num, endMs: num,
  startRssBytes: num, endRssBytes: num, peakRssBytes: num, growthBytesPerMin: nullableNum,
  returnedFraction: nullableNum.optional(), load: loadStatsSchema.optional(),
  lsGrowthBytesPerMin: nullableNum.optional(), trajectory: trajectorySchema.nullable().optional(), endReason: phaseEndReason.optional(), settledOn: settledOn.optional(),
  returnHalfMs: nullableNum.optional(),
});

const metricsSchema = z.looseObject({
  samples: count, peakRssBytes: num, finalRssBytes: num, growthBytesPerMin: nullableNum, returnedFraction: nullableNum,
  throughputRps: nullableNum, latencyP99Ms: nullableNum, requests: nullableNum, peakBytesPerRequest: nullableNum,
  liveHeapBytes: nullableNum.optional(), peakLiveHeapBytes: nullableNum.optional(), allocatorHeldBytes: nullableNum.optional(),
  liveHeapGrowthBytesPerMin: nullableNum.optional(), phases: z.array(phaseMetricsSchema),
  growthIntervalBytesPerMin: interval.optional(), lsGrowthBytesPerMin: nullableNum.optional(), steadyRssBytes: nullableNum.optional(),
  meanRssBytes: nullableNum.optional(), trajectory: trajectorySchema.nullable().optional(),
  liveHeapTrajectory: trajectorySchema.nullable().optional(), otherAnonTrajectory: trajectorySchema.nullable().optional(),
  heldTrajectory: trajectorySchema.nullable().optional(),
  fileTrajectory: trajectorySchema.nullable().optional(), steadyAllocatorHeldBytes: nullableNum.optional(),
  steadyLiveHeapBytes: nullableNum.optional(), threadsAtLoadStart: nullableNum.optional(), threadsAtLoadEnd: nullableNum.optional(),
  lsLiveHeapGrowthBytesPerMin: nullableNum.optional(),
  // The ledger's parts: damaged ones are dropped (habits and coverage are then absent, not wrong).
  allocatorSnapshots: z.array(z.looseObject({
    at: z.enum(['load-end', 'idle-end', 'last']), t: num, allocator: z.string(), figures: z.record(z.string(), num), rssBytes: num,
    anonBytes: nullableNum, liveBytes: num, heldBytes: nullableNum, lazyFreeBytes: nullableNum, threads: nullableNum,
  })).optional().catch(undefined),
  ledgerCoverage: z.looseObject({
    explainedFraction: num, unexplainedBytes: num, unexplainedFractionOfRss: num, withinTolerance: z.boolean(), freshFraction: num,
  }).optional().catch(undefined),
});

/** An environment folder name: one plain name inside the run folder (never a path out of it). */
const folderName = z.string().min(1).refine((s) => !/[/\\]/.test(s) && s !== '.' && s !== '..', 'a folder name inside the run folder');

export const environmentSchema = z.looseObject({
  env: z.string(),
  label: z.string(),
  dir: folderName,
  repetition: num.default(1),
  appliedEnv: z.record(z.string(), z.string()).default({}),
  pid: num.nullable().default(null),
  startedAt: z.string().default(''),
  durationMs: nullableNum.default(null),
  // Derived or optional parts: a damaged one is dropped (metrics are then recomputed from the samples).
  verification: verificationSchema.nullable().default(null).catch(null),
  exit: z.looseObject({ code: nullableNum, signal: z.string().nullable(), expected: z.boolean() }).nullable().default(null).catch(null),
  error: z.string().nullable().default(null),
  metrics: metricsSchema.nullable().default(null).catch(null),
});

export const runRecordSchema = z.looseObject({
  schemaVersion: z.number().int().min(1),
  id: z.string(),
  name: z.string(),
  // A kind written by a newer version still opens (it only names what started the run).
  kind: z.string(),
  createdAt: z.string(),
  complete: z.boolean(),
  cancelled: z.boolean().default(false),
  host: z.looseObject({ hostname: z.string(), cpus: num, kernel: z.string(), node: z.string() }).optional().catch(undefined),
  scenarioPath: z.string().nullable().default(null),
  scenario: z.unknown(),
  environments: z.array(environmentSchema),
  verdict: z.string().nullable().default(null),
  diagnosis: diagnosisSchema.nullable().optional().catch(undefined),
});

/** The first problem zod found, as "path: message" for an error naming the file. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.filter((p): p is string | number => typeof p !== 'symbol').join('.');
  return `${where || 'the file'}: ${issue.message}`;
}

/** Validates run.json's content; returns the record or the first problem. */
export function checkRunRecord(value: unknown): { record: RunRecord } | { problem: string } {
  const r = runRecordSchema.safeParse(value);
  return r.success ? { record: r.data as unknown as RunRecord } : { problem: describeIssue(r.error) };
}

/** A sample line as read, or null when it is not one (torn, hand-edited, of another kind). */
export function checkSample(value: unknown): Sample | null {
  const r = sampleSchema.safeParse(value);
  return r.success ? (r.data as Sample) : null;
}

/** An event line as read, or null when it is not a known event of the right shape. */
export function checkEvent(value: unknown): RunEvent | null {
  const type = (value as { type?: unknown } | null)?.type;
  const r = (typeof type === 'string' && !knownEventTypes.has(type) ? futureEventSchema : eventSchema).safeParse(value);
  return r.success ? (r.data as RunEvent) : null;
}

export type { EnvironmentRecord };
