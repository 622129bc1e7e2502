// The built-in HTTP load driver: closed model (concurrency) or open model (rate). The main-thread side is here;
// the load loop itself runs in ../httpLoadWorker.ts.
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { AlloclabError } from '../../errors';
import type { LoadStats } from '../../model';
import { parseDuration } from '../../units';
import { workerPath } from '../../workers';
import { duration, listsSchema } from '../fields';
import type { HttpWorkerJob, HttpWorkerReport } from '../httpProtocol';
import { resolveLists } from '../lists';
import { assertLoopback } from '../../os/net';
import { emptyStats, resolveUrl, substitute, type LoadContext } from '../loadContext';
import { parseTemplate } from '../templates';
import type { DriverProblem, LoadDriver } from './types';

export const httpLoadSchema = z
  .object({
    driver: z.literal('http').describe('The built-in HTTP load driver.'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET').describe('HTTP method.'),
    url: z.string().describe('Target URL; ${port} is replaced by the port picked for this run. May hold {{...}} template variables in its path and query.'),
    headers: z.record(z.string(), z.string()).default({}).describe('Request headers; values may hold {{...}} template variables.'),
    body: z.string().optional().describe('Body template: {{counter}}, {{randomHex N}}, {{randomInt MIN MAX}}, {{uuid}}, {{choice a b c}}, {{list NAME}}.'),
    concurrency: z.number().int().min(1).max(4096).optional()
      .describe('Closed model: requests in flight at once, each sent when the previous one answered (default 16). Do not combine with rate.'),
    rate: z.number().positive().max(1_000_000).optional()
      .describe('Open model: requests per second sent on schedule whether or not earlier ones answered; latency is measured from the intended send time.'),
    maxInFlight: z.number().int().min(1).max(65536).default(1024)
      .describe('Open model: cap on outstanding requests (and connections); sends beyond it wait, their latency still counts from the intended time.'),
    keepAlive: z.boolean().default(true).describe('Reuse connections; false opens a new connection for every request.'),
    timeout: duration.default('10s').describe('Per-request timeout.'),
    lists: listsSchema.optional(),
  })
  .strict()
  .describe('Built-in HTTP load: closed model (concurrency) or open model (rate).');

export type HttpLoadSpec = z.infer<typeof httpLoadSchema>;

/** The built-in HTTP load (undici, in a worker thread). */
export const httpDriver: LoadDriver<typeof httpLoadSchema> = {
  id: 'http',
  schema: httpLoadSchema,
  countsRequests: true,
  check(load, scenarioLists): DriverProblem | null {
    if (load.rate !== undefined && load.concurrency !== undefined) {
      return { path: ['rate'], message: 'give either rate (open model) or concurrency (closed model), not both' };
    }
    const lists = new Set([...scenarioLists, ...Object.keys(load.lists ?? {})]);
    const templated: [(string | number)[], string][] = [[['url'], load.url]];
    for (const [k, v] of Object.entries(load.headers)) templated.push([['headers', k], v]);
    if (load.body !== undefined) templated.push([['body'], load.body]);
    for (const [p, t] of templated) {
      const parsed = parseTemplate(t, lists);
      if ('problem' in parsed) return { path: p, message: parsed.problem.message, stringIndex: parsed.problem.index };
    }
    return null;
  },
  lists: (load) => load.lists,
  withLists: (load, scenarioLists) => ({ ...load, lists: { ...scenarioLists, ...load.lists } }),
  preflight: (load, { allowRemote }) => assertLoopback(substitute(load.url, { port: '1' }), allowRemote),
  run: runHttpLoad,
};

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
