import net from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A listening socket that counts the connections made to it — the proof that a refused call
 * never connected — and answers in one of the ways a port scan tells apart: `hang` (accept and
 * never answer), `reset` (accept and close at once: "socket hang up"), or `redirect` (an HTTP
 * 302 to `location`).
 */
export interface TcpSink {
  host: string;
  port: number;
  url: string;
  readonly connections: number;
  close(): Promise<void>;
}

export async function startTcpSink(mode: 'hang' | 'reset' | { redirect: string }, host = '127.0.0.1'): Promise<TcpSink> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode === 'reset') socket.destroy();
    else if (mode !== 'hang') {
      socket.once('data', () => {
        socket.end(`HTTP/1.1 302 Found\r\nLocation: ${mode.redirect}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host,
    port,
    url: `http://${host}:${port}/v1`,
    get connections() {
      return connections;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A local port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
