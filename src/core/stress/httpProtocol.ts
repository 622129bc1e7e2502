// Messages between runLoad (main thread) and the HTTP load worker. Plain data only (structured clone).
import type { LoadStats } from '../model';

/** Everything the worker needs, resolved on the main thread (port substituted, lists read, durations in ms). */
export interface HttpWorkerJob {
  method: string;
  /** The URL as written (after ${...}); templates only after the origin. */
  url: string;
  /** The address the URL's host was resolved to once (os/net pinUrl): every connection goes there. */
  address: string;
  family: 4 | 6;
  headers: Record<string, string>;
  body?: string;
  /** Closed model when set. */
  concurrency: number | null;
  /** Open model when set (requests per second). */
  rate: number | null;
  maxInFlight: number;
  keepAlive: boolean;
  timeoutMs: number;
  durationMs: number;
  requests: number | null;
  lists: Record<string, string[]>;
}

export type HttpWorkerCommand = { type: 'stop' };
export type HttpWorkerReport = { type: 'done'; stats: LoadStats } | { type: 'error'; message: string };
