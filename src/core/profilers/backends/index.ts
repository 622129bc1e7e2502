// The attribution backends, as a registry: one file each, listed here in order of preference (cheapest first).
// A new backend is one file in this folder plus one line in BACKENDS.
import { UnknownBackendError } from '../model';
import { heaptrackBackend } from './heaptrack';
import { jemallocProfBackend } from './jemalloc-prof';
import { massifBackend } from './massif';
import { probeSampledBackend } from './probe-sampled';
import type { AttributionBackend, BackendOptions } from './types';

export type { AttributionBackend, Availability, BackendOptions, CollectContext, JemallocProfOptions, Launch, ProbeSampledOptions, ProfileFormat } from './types';
export { probeSampledBackend, DEFAULT_SAMPLE_INTERVAL } from './probe-sampled';
export { heaptrackBackend } from './heaptrack';
export { jemallocProfBackend, JEMALLOC_PATHS } from './jemalloc-prof';
export { massifBackend } from './massif';

const BACKENDS: readonly ((options: BackendOptions) => AttributionBackend)[] = [
  probeSampledBackend,
  jemallocProfBackend,
  heaptrackBackend,
  massifBackend,
];

/** Every backend, in order of preference (cheapest first), each configured from options. */
export function listBackends(options: BackendOptions = {}): AttributionBackend[] {
  return BACKENDS.map((create) => create(options));
}

/** The backend with this id; throws a typed error naming the known ones. */
export function getBackend(id: string, options: BackendOptions = {}): AttributionBackend {
  const all = listBackends(options);
  const b = all.find((x) => x.id === id);
  if (!b) throw new UnknownBackendError(id, all.map((x) => x.id));
  return b;
}
