// Real loopback HTTP servers and phase contexts for the stress tests.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { LoadContext } from '../../../src/core/stress';

export interface TestServer {
  port: number;
  url: string;
  /** TCP connections accepted so far. */
  connections: () => number;
  /** Requests received so far (method, url, body). */
  received: { method: string; url: string; body: string; headers: http.IncomingHttpHeaders }[];
  close: () => Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

/** Starts a node:http server on 127.0.0.1 (ephemeral port); `handler` answers, default 200 "ok". */
export async function startServer(handler?: Handler, keepBodies = true): Promise<TestServer> {
  let connections = 0;
  const received: TestServer['received'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (keepBodies) received.push({ method: req.method ?? '', url: req.url ?? '', body, headers: req.headers });
      if (handler) handler(req, res, body);
      else res.end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A phase context for tests; outDir is a fresh temp folder removed by cleanup(). */
export function testContext(over: Partial<LoadContext> = {}): LoadContext & { cleanup: () => void } {
  const outDir = mkdtempSync(path.join(tmpdir(), 'alloclab-stress-'));
  return {
    port: null,
    durationMs: 1000,
    signal: new AbortController().signal,
    outDir,
    phaseName: 'load',
    baseDir: outDir,
    allowRemote: false,
    ...over,
    cleanup: () => rmSync(outDir, { recursive: true, force: true }),
  };
}

/** A port on 127.0.0.1 where nothing listens (bound, then released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
