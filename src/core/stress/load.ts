// Running one phase's load: the entry point the run orchestrator calls, and the built-in HTTP driver's
// main-thread side (the load loop itself runs in httpLoadWorker.ts).
import { Worker } from 'node:worker_threads';
import { AlloclabError } from '../errors';
import type { LoadStats } from '../model';
import { emptyStats, resolveUrl, type LoadContext } from './loadContext';
import { workerPath } from '../workers';
import { parseDuration } from '../units';
import { runCommandLoad } from './commandDriver';
import type { HttpWorkerJob, HttpWorkerReport } from './httpProtocol';
import { resolveLists } from './lists';
import type { HttpLoadSpec, LoadSpec } from './scenario';

/** Runs the load of one phase until its duration (or request count) is reached or ctx.signal aborts. */
export async function runLoad(spec: LoadSpec, ctx: LoadContext): Promise<LoadStats> {
  if (ctx.signal.aborted) return emptyStats(0);
  if (spec.driver === 'http') return runHttpLoad(spec, ctx);
  return runCommandLoad(spec, ctx);
}

// After the phase should have ended, how long the worker gets to report before it is asked, then forced, to stop.
const REPORT_GRACE_MS = 2000;
const TERMINATE_GRACE_MS = 3000;

async function runHttpLoad(spec: HttpLoadSpec, ctx: LoadContext): Promise<LoadStats> {
  const pinned = await resolveUrl(spec.url, ctx);
  const job: HttpWorkerJob = {
    method: spec.method,
    url: pinned.url,
    address: pinned.address,
    family: pinned.family,
    headers: spec.headers,
    body: spec.body,
    concurrency: spec.rate != null ? null : (spec.concurrency ?? 16),
    rate: spec.rate ?? null,
    maxInFlight: spec.maxInFlight,
    keepAlive: spec.keepAlive,
    timeoutMs: parseDuration(spec.timeout),
    durationMs: ctx.durationMs,
    requests: ctx.requests ?? null,
    lists: resolveLists(spec.lists, ctx.baseDir),
  };
  const started = Date.now();
  const worker = new Worker(workerPath('httpLoad'), { workerData: job });
  try {
    return await new Promise<LoadStats>((resolve, reject) => {
      const stop = () => worker.postMessage({ type: 'stop' });
      const onAbort = () => {
        stop();
        // A worker stuck in a synchronous loop cannot answer; give up on its figures rather than on the cancel.
        setTimeout(() => resolve(emptyStats(Date.now() - started)), 1000).unref();
      };
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const late = setTimeout(stop, ctx.durationMs + REPORT_GRACE_MS);
      const dead = setTimeout(
        () => reject(new AlloclabError(`The HTTP load worker did not report ${TERMINATE_GRACE_MS / 1000} s after phase "${ctx.phaseName}" ended.`)),
        ctx.durationMs + REPORT_GRACE_MS + TERMINATE_GRACE_MS,
      );
      const cleanup = () => {
        clearTimeout(late);
        clearTimeout(dead);
        ctx.signal.removeEventListener('abort', onAbort);
      };
      worker.on('message', (m: HttpWorkerReport) => {
        cleanup();
        if (m.type === 'done') resolve(m.stats);
        else reject(new AlloclabError(`HTTP load failed in phase "${ctx.phaseName}": ${m.message}`));
      });
      worker.on('error', (e) => {
        cleanup();
        reject(new AlloclabError(`HTTP load worker crashed in phase "${ctx.phaseName}": ${e.message}`));
      });
      worker.on('exit', (code) => {
        cleanup();
        reject(new AlloclabError(`HTTP load worker exited (code ${code}) before reporting in phase "${ctx.phaseName}".`));
      });
    });
  } finally {
    await worker.terminate();
  }
}
