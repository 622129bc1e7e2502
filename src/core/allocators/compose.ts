// The target's environment is built immutably from three layers (os/env): LD_PRELOAD is composed rather than
// overwritten, because the user may preload their own libraries (a tracer, a shim).
import { EnvironmentVars } from '../os/env';
import type { AllocatorProfile } from './types';

/** The target's full environment: base env + target env + profile env; LD_PRELOAD composed (profile library first, then the user's own LD_PRELOAD), never overwritten. `applied` = what the profile added. */
export function composeEnvironment(
  base: Record<string, string | undefined>,
  targetEnv: Record<string, string>,
  profile: AllocatorProfile,
): { env: Record<string, string>; applied: Record<string, string> } {
  const applied: Record<string, string> = Object.fromEntries(Object.entries(profile.env).filter(([k]) => k !== 'LD_PRELOAD'));
  const env = EnvironmentVars.from(base).merge(targetEnv, applied).withPreload(profile.preload ?? '');
  if (profile.preload) applied.LD_PRELOAD = profile.preload;
  return { env: env.toObject(), applied };
}
