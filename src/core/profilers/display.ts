// How a hotspot is shown (lenses, hovers, the Hotspots view, the run panel): figures in words, and the local
// file a frame opens. Shared by the language server and the extension, so it lives with the model.
import { formatGrowth, formatMiB } from '../units';
import type { AllocationProfile } from './model';
import { resolveSourceFile, type PathMapOptions } from './pathmap';
import type { Hotspot } from './rank';

/** "1.2M", "34k", "950" */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** The figures of a hotspot its backend supports, in a fixed order (lenses, the Hotspots view, hovers, the panel). */
export function hotspotFigures(h: Hotspot, caps: AllocationProfile['capabilities'], sampled: boolean): string {
  const est = sampled ? '~' : '';
  const parts: string[] = [];
  if (caps.growth && h.growthBytesPerMin != null) parts.push(formatGrowth(h.growthBytesPerMin));
  if (caps.calls && h.allocations != null) parts.push(`${est}${formatCount(h.allocations)} allocs`);
  if (caps.peak) parts.push(`${est}${formatMiB(h.peakBytes)} at peak`);
  // What no backend here can tell is whether a block was still reachable (a cache kept to the end is not a leak).
  if (caps.leaked && h.leakedBytes) parts.push(`${formatMiB(h.leakedBytes)} not freed at exit`);
  // A sampled site's figures are estimates: its allocated bytes carry their statistical error wherever it is shown.
  const withError = allocatedWithError(h);
  if (withError) parts.push(withError);
  return parts.join(' · ');
}

/**
 * A sampled site's allocated bytes with their 1-sigma statistical error, e.g. "~12.3 MiB ± 0.4 MiB allocated (1σ)";
 * null when the backend gives no error (exact backends, or jemalloc-prof). An error under 0.1 MiB is in KiB, so it
 * never reads "± 0.0 MiB".
 */
export function allocatedWithError(h: Pick<Hotspot, 'allocatedBytes' | 'bytesError' | 'belowResolution'>): string | null {
  if (h.bytesError == null || h.allocatedBytes == null) return null;
  const error = h.bytesError < 0.1 * 1048576 ? `${Math.max(1, Math.round(h.bytesError / 1024))} KiB` : formatMiB(h.bytesError);
  return `~${formatMiB(h.allocatedBytes)} ± ${error} allocated (1σ)${h.belowResolution ? ', below resolution' : ''}`;
}

/** The local file for a frame: by sourceFileMap, else its recorded path when it exists here, else a workspace file by suffix. */
export function localFile(file: string | null, settings: PathMapOptions): string | null {
  return resolveSourceFile(file, settings).file;
}
