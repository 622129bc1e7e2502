// Lateness of readings against their deadlines, kept as a histogram so hours of 100 Hz sampling stay small.

const BUCKET_US = 10;
const BUCKETS = 10_000; // 10 µs steps up to 100 ms; later readings share the last bucket (the max stays exact)

/** Histogram of non-negative delays in nanoseconds, read back as percentiles in milliseconds. */
export class LatenessHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  private n = 0;
  private maxNs = 0;

  add(ns: number): void {
    const v = ns < 0 ? 0 : ns;
    this.counts[Math.min(BUCKETS - 1, Math.floor(v / (BUCKET_US * 1000)))]++;
    this.n++;
    if (v > this.maxNs) this.maxNs = v;
  }

  get count(): number {
    return this.n;
  }

  /** The q-quantile (0..1) in milliseconds, as the upper edge of its bucket (0 when empty). */
  quantileMs(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(((i + 1) * BUCKET_US) / 1000, this.maxMs);
    }
    return this.maxMs;
  }

  get maxMs(): number {
    return this.maxNs / 1e6;
  }
}
