import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server (PostgreSQL in the outage tests), so a test
 * can take the server away from the code under test — without touching the server, which other
 * test files share. `cut()` destroys every live connection and resets every new one until
 * `restore()`.
 */
export interface TcpProxy {
  port: number;
  /** `url` (e.g. postgres://…:5432/db) with its port replaced by the proxy's. */
  via(url: string): string;
  readonly isCut: boolean;
  /** Connections accepted and passed through since start. */
  readonly connections: number;
  /** Connections reset while cut. */
  readonly refused: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const live = new Set<net.Socket>();
  let isCut = false;
  let connections = 0;
  let refused = 0;
  const server = net.createServer((client) => {
    if (isCut) {
      refused++;
      client.resetAndDestroy();
      return;
    }
    connections++;
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      live.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        live.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    via(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    get isCut() {
      return isCut;
    },
    get connections() {
      return connections;
    },
    get refused() {
      return refused;
    },
    cut() {
      isCut = true;
      for (const s of live) s.resetAndDestroy();
    },
    restore() {
      isCut = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of live) s.destroy();
        server.close(() => resolve());
      }),
  };
}
