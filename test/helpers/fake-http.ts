import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the fake provider servers (fake-openai.ts, fake-anthropic.ts) share: a JSON HTTP server on
 * an ephemeral local port, tuned for many concurrent keep-alive clients, whose injected latency
 * timers are cancelled on close so a stopped server leaves nothing pending.
 */
export interface FakeHttpServer {
  port: number;
  /** TCP connections accepted since start (keep-alive reuses them). */
  readonly connectionCount: number;
  /** Waits `ms`; cancelled (never resolves) when the server closes. */
  sleep(ms: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts a server that calls `handle` with each request's whole body. */
export async function startFakeHttpServer(handle: (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void): Promise<FakeHttpServer> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  let connectionCount = 0;
  server.on('connection', () => connectionCount++);
  // Many concurrent keep-alive clients: no per-connection limits, long keep-alive.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  server.maxHeadersCount = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    get connectionCount() {
      return connectionCount;
    },
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, ms);
        timers.add(t);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}
