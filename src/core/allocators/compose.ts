// The target's environment is built immutably from three layers; LD_PRELOAD is the one variable that is
// composed rather than overwritten, because the user may preload their own libraries (a tracer, a shim).
import type { AllocatorProfile } from './types';

/** The target's full environment: base env + target env + profile env; LD_PRELOAD composed (profile library first, then the user's own LD_PRELOAD), never overwritten. `applied` = what the profile added. */
export function composeEnvironment(
  base: Record<string, string | undefined>,
  targetEnv: Record<string, string>,
  profile: AllocatorProfile,
): { env: Record<string, string>; applied: Record<string, string> } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  Object.assign(env, targetEnv);
  const userPreload = env.LD_PRELOAD;
  const applied: Record<string, string> = {};
  for (const [k, v] of Object.entries(profile.env)) {
    if (k === 'LD_PRELOAD') continue;
    env[k] = v;
    applied[k] = v;
  }
  if (profile.preload) {
    // ld.so accepts spaces and colons as separators; keep the user's entries as written, minus a duplicate of ours.
    const userEntries = (userPreload ?? '').split(/[:\s]+/).filter((e) => e && e !== profile.preload);
    env.LD_PRELOAD = [profile.preload, ...userEntries].join(':');
    applied.LD_PRELOAD = profile.preload;
  }
  return { env, applied };
}
