// Durations and byte sizes as users write and read them.

/**
 * The longest duration anything accepts: 7 days. Node's timers fire after 1 ms for delays of 2^31 ms (24.8 days)
 * or more, so an unchecked "9999h" would end at once instead of never.
 */
export const MAX_DURATION_MS = 7 * 24 * 3_600_000;

export class DurationTooLongError extends Error {
  constructor(text: string) {
    super(`"${text}" is longer than the maximum of 7 days (168h)`);
  }
}

/** "500ms" | "30s" | "2m" | "1h" -> milliseconds, at most MAX_DURATION_MS. Throws on anything else. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration; write e.g. 500ms, 30s, 2m`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  const ms = n * unit;
  if (!(ms <= MAX_DURATION_MS)) throw new DurationTooLongError(text);
  return ms;
}

/** parseDuration for a duration that must last: "0s" is refused too. */
export function parsePositiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new Error(`"${text}" must be greater than zero`);
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 120_000) return `${+(ms / 1000).toFixed(1)}s`;
  return `${+(ms / 60_000).toFixed(1)}m`;
}

const MiB = 1024 * 1024;

/** Bytes as MiB with one decimal, e.g. "812.3 MiB". */
export function formatMiB(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) return '-';
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Signed growth rate, e.g. "+12.3 MiB/min". */
export function formatGrowth(bytesPerMin: number | null | undefined): string {
  if (bytesPerMin == null || !Number.isFinite(bytesPerMin)) return '-';
  const v = bytesPerMin / MiB;
  return `${v >= 0 ? '+' : ''}${v.toFixed(1)} MiB/min`;
}

/** "5MiB", "20%", "512KiB", "1GiB", plain bytes -> bytes (percent handled by the caller). */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB)?$/i.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a size; write e.g. 512KiB, 5MiB, 1GiB`);
  const unit = (m[2] ?? 'B').toLowerCase();
  const mult: Record<string, number> = { b: 1, kib: 1024, mib: MiB, gib: 1024 * MiB, kb: 1000, mb: 1e6, gb: 1e9 };
  return Number(m[1]) * mult[unit];
}
