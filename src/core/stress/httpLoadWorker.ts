// The built-in HTTP load driver, in a worker thread: a busy load loop must never delay the RSS sampler or the
// orchestrator. Closed model: `concurrency` loops, each sending when its previous request finished. Open model:
// requests scheduled at `rate` whatever happened before; latency counts from the intended send time, so a stall of
// the target shows up in the percentiles instead of silently lowering the send rate (coordinated omission).
//
// Counting: `requests` = every attempt that finished inside the phase (answered or failed); a response with status
// >= 400 is an `errors.status` (a 4xx usually means the scenario is wrong, which the user must see); a 3xx is not
// followed and is counted apart as a `redirect` (the load did not reach the handler it names); `throughputRps`
// = responses (any status) per second; latency percentiles cover responses only. Requests still in flight at phase
// end are abandoned and not counted.
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Client, Pool, type Dispatcher } from 'undici';
import Int32Histogram from 'hdr-histogram-js/dist/Int32Histogram';
import type { LoadStats } from '../model';
import type { HttpWorkerCommand, HttpWorkerJob, HttpWorkerReport } from './httpProtocol';
import { compileTemplate, isTemplate, type TemplateRenderer } from './templates';
import { pinnedLookup, splitOrigin } from '../os/net';

// A closed-model loop whose target refuses connections would otherwise spin a core on instant failures.
const CONNECT_ERROR_BACKOFF_MS = 20;
// Latencies are recorded in microseconds up to an hour (an open-model backlog in a long phase could exceed it).
const MAX_LATENCY_US = 3_600_000_000;

type ErrorKind = keyof LoadStats['errors'];

function classify(err: unknown): ErrorKind {
  const code = (err as { code?: string } | null)?.code ?? '';
  switch (code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return 'other';
  }
}

async function run(job: HttpWorkerJob, onStop: (stop: () => void) => void): Promise<LoadStats> {
  // The origin holds no template (os/net refused that): it is fixed, and only the path is rendered per request.
  const { origin: originText, rest } = splitOrigin(job.url);
  const origin = new URL(originText).origin;
  const asPath = (p: string) => {
    const q = p.split('#')[0];
    return q.startsWith('/') ? q : `/${q}`;
  };
  const pathOf: TemplateRenderer = isTemplate(rest)
    ? (() => {
        const render = compileTemplate(rest, job.lists);
        return (c: number) => asPath(render(c));
      })()
    : (() => {
        const p = new URL(job.url).pathname + new URL(job.url).search;
        return () => p;
      })();
  const headerRenderers = Object.entries(job.headers).filter(([, v]) => isTemplate(v)).map(([k, v]) => [k, compileTemplate(v, job.lists)] as const);
  const bodyOf = job.body === undefined ? null : compileTemplate(job.body, job.lists);

  const openModel = job.rate != null;
  const connections = openModel ? job.maxInFlight : (job.concurrency ?? 16);
  const options = {
    pipelining: 1,
    headersTimeout: job.timeoutMs,
    bodyTimeout: job.timeoutMs,
    // Every connection goes to the address resolved and checked once on the main thread.
    connect: { timeout: job.timeoutMs, lookup: pinnedLookup(job.address, job.family) },
  };
  // Closed model: one Client per loop (each loop owns its connection, and skipping the Pool's queue costs about a
  // third less CPU per request). Open model: a Pool hands each send to whichever connection is free.
  const dispatchers: Dispatcher[] = openModel
    ? [new Pool(origin, { ...options, connections })]
    : Array.from({ length: connections }, () => new Client(origin, options));

  const errors = { status: 0, connect: 0, timeout: 0, other: 0 };
  let requests = 0;
  let responses = 0;
  let redirects = 0;
  // Int32 counts are plenty for one phase.
  const histogram = new Int32Histogram(1, MAX_LATENCY_US, 3);
  let stopped = false;
  let issued = 0;
  let completed = 0;
  let counter = 0;
  const maxRequests = job.requests ?? Infinity;

  let resolveEnd!: () => void;
  const ended = new Promise<void>((r) => (resolveEnd = r));
  const finish = () => {
    if (stopped) return;
    stopped = true;
    resolveEnd();
  };
  const start = performance.now();
  const deadline = setTimeout(finish, job.durationMs);
  onStop(finish);

  // Raw dispatch with callbacks, not pool.request(): no promise and no Readable per request, which about doubles
  // the requests per second one thread can drive (bench/http.ts).
  /** Sends one request; `since` is when its latency clock starts (the intended send time in the open model). */
  const send = (dispatcher: Dispatcher, since: number, done: (kind: ErrorKind | null) => void): void => {
    const c = ++counter;
    issued++;
    let headers = job.headers;
    if (headerRenderers.length) {
      headers = { ...job.headers };
      for (const [k, r] of headerRenderers) headers[k] = r(c);
    }
    let status = 0;
    let settled = false;
    const settle = (kind: ErrorKind | null, answered: boolean) => {
      if (settled) return;
      settled = true;
      if (!stopped) {
        if (answered) {
          responses++;
          if (status >= 300 && status < 400) redirects++;
          histogram.recordValue(Math.min(MAX_LATENCY_US, Math.max(1, Math.round((performance.now() - since) * 1000))));
        }
        requests++;
        if (kind) errors[kind]++;
        completed++;
        if (completed >= maxRequests) finish();
      }
      done(kind);
    };
    const handler = {
      onConnect: () => undefined,
      onHeaders: (statusCode: number) => {
        status = statusCode;
        return true;
      },
      onData: () => true,
      onComplete: () => settle(status >= 400 ? 'status' : null, true),
      onError: (err: Error) => settle(classify(err), false),
    };
    try {
      dispatcher.dispatch(
        {
          origin,
          path: pathOf(c),
          method: job.method as 'GET',
          headers,
          body: bodyOf ? bodyOf(c) : undefined,
          // reset closes the connection after the response: every request opens a new one.
          reset: !job.keepAlive,
        },
        handler,
      );
    } catch (e) {
      handler.onError(e as Error);
    }
  };

  if (!openModel) {
    const loop = (dispatcher: Dispatcher): void => {
      const next = (): void => {
        if (stopped || issued >= maxRequests) return;
        send(dispatcher, performance.now(), (kind) => {
          if (stopped) return;
          if (kind === 'connect') setTimeout(next, CONNECT_ERROR_BACKOFF_MS);
          else next();
        });
      };
      next();
    };
    for (const d of dispatchers) loop(d);
  } else {
    const intervalMs = 1000 / (job.rate as number);
    let next = 0; // index of the next request to send
    let outstanding = 0;
    let timer: NodeJS.Timeout | null = null;
    const pump = () => {
      timer = null;
      if (stopped) return;
      const now = performance.now();
      while (outstanding < job.maxInFlight && next < maxRequests) {
        const intended = start + next * intervalMs;
        if (intended > now) break;
        next++;
        outstanding++;
        send(dispatchers[0], intended, () => {
          outstanding--;
          if (!timer && !stopped) pump();
        });
      }
      if (next < maxRequests && outstanding < job.maxInFlight && !timer) {
        timer = setTimeout(pump, Math.max(0, start + next * intervalMs - performance.now()));
      }
    };
    pump();
  }

  await ended;
  const durationMs = performance.now() - start;
  clearTimeout(deadline);
  // Abandon what is still in flight; destroy() fails those requests, which `stopped` keeps out of the counts.
  await Promise.all(dispatchers.map((d) => d.destroy().catch(() => undefined)));
  const stats: LoadStats = {
    parsed: true,
    requests,
    errors,
    durationMs,
    throughputRps: durationMs > 0 ? (responses * 1000) / durationMs : 0,
    redirects,
  };
  if (responses > 0) {
    stats.latencyMs = {
      p50: histogram.getValueAtPercentile(50) / 1000,
      p90: histogram.getValueAtPercentile(90) / 1000,
      p99: histogram.getValueAtPercentile(99) / 1000,
      max: histogram.maxValue / 1000,
    };
  }
  return stats;
}

const port = parentPort;
if (port) {
  run(workerData as HttpWorkerJob, (stop) => port.on('message', (m: HttpWorkerCommand) => m.type === 'stop' && stop()))
    .then((stats) => port.postMessage({ type: 'done', stats } satisfies HttpWorkerReport))
    // The main thread terminates the worker once it has the report.
    .catch((e: unknown) => port.postMessage({ type: 'error', message: e instanceof Error ? e.message : String(e) } satisfies HttpWorkerReport));
}
