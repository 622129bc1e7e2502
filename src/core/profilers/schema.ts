// profile.json as read back: checked with zod, so a damaged or foreign file is a ProfileFormatError naming the
// field, never a crash in ranking or display. Objects are loose: fields added later pass through.
import { z } from 'zod';
import type { AllocationProfile } from './model';

const num = z.number();
const count = z.number().min(0);

const frameSchema = z.looseObject({
  function: z.string().nullable(),
  file: z.string().nullable(),
  line: num.nullable(),
  module: z.string().nullable(),
  address: z.string().nullable(),
});

const siteSchema = z.looseObject({
  id: z.string(),
  frames: z.array(frameSchema),
  userFrame: z.number().int().min(0),
  liveBytes: z.array(num),
  peakBytes: num,
  allocations: num.nullable().default(null),
  allocatedBytes: num.nullable().default(null),
  leakedBytes: num.nullable().default(null),
  temporaryAllocations: count.optional(),
});

export const profileSchema = z.looseObject({
  schemaVersion: z.number().int().min(0).default(0),
  backend: z.string(),
  capabilities: z.looseObject({ growth: z.boolean(), peak: z.boolean(), calls: z.boolean(), leaked: z.boolean() }),
  snapshots: z.array(z.looseObject({ t: num })),
  sites: z.array(siteSchema),
  sampled: z.boolean().default(false),
  warnings: z.array(z.string()).default([]),
  sources: z.array(z.string()).default([]),
  windows: z.array(z.looseObject({ startMs: num, endMs: num })).optional(),
}).superRefine((p, ctx) => {
  // Every site has one live-bytes figure per snapshot; a user frame index points into its frames (or at none).
  for (const [i, s] of p.sites.entries()) {
    if (s.liveBytes.length !== p.snapshots.length) {
      ctx.addIssue({ code: 'custom', path: ['sites', i, 'liveBytes'], message: `${s.liveBytes.length} values for ${p.snapshots.length} snapshots` });
      return;
    }
    if (s.frames.length > 0 && s.userFrame >= s.frames.length) {
      ctx.addIssue({ code: 'custom', path: ['sites', i, 'userFrame'], message: `frame ${s.userFrame} of ${s.frames.length}` });
      return;
    }
  }
});

/** Validates profile.json's content; returns the profile or the first problem as "path: message". */
export function checkProfile(value: unknown): { profile: AllocationProfile } | { problem: string } {
  const r = profileSchema.safeParse(value);
  if (r.success) return { profile: r.data as unknown as AllocationProfile };
  const issue = r.error.issues[0];
  const where = issue.path.filter((p): p is string | number => typeof p !== 'symbol').join('.');
  return { problem: `${where || 'the file'}: ${issue.message}` };
}
