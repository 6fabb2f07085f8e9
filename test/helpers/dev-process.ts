import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { ROOT, stopProcess, testBundleEnv } from './worker-process';
import { TEST_JWT_SECRET, tokenFor, type TokenClaims } from './api';

/** A free TCP port on loopback (closed again before it is returned). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface DevProcess {
  child: ChildProcess;
  baseUrl: string;
  /** Everything the process printed (stdout and stderr), for assertions and post-mortems. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface DevProcessOptions {
  dataDir: string;
  port: number;
  uiPort: number;
  env?: Record<string, string>;
}

/**
 * Starts `anno dev` (`npm start`) as a user does: its own Temporal dev server on `dataDir`,
 * embedded PGlite unless `env.DATABASE_URL` is given, workers and API. Resolves when /ready
 * answers 200.
 */
export async function startDevProcess(o: DevProcessOptions, readyTimeoutMs = 120_000): Promise<DevProcess> {
  // node with tsx as a loader (not the tsx launcher), so a signal reaches the process itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'dev'], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      JWT_SECRET: TEST_JWT_SECRET,
      DATA_DIR: o.dataDir,
      PORT: String(o.port),
      HOST: '127.0.0.1',
      TEMPORAL_UI_PORT: String(o.uiPort),
      // The SDK's metrics exporter only where a test asks for it: a fixed port would clash.
      TEMPORAL_METRICS_BIND: 'off',
      TEMPORAL_ADDRESS: '',
      DATABASE_URL: '',
      ...testBundleEnv(),
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => void (out += d));
  child.stderr!.on('data', (d) => void (out += d));
  const baseUrl = `http://127.0.0.1:${o.port}`;
  const dev: DevProcess = { child, baseUrl, output: () => out, stop: (signal = 'SIGINT') => stopProcess(child, signal) };
  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`anno dev exited early:\n${out.slice(-4000)}`);
    if (Date.now() > deadline) {
      await dev.stop('SIGKILL');
      throw new Error(`anno dev was not ready in ${readyTimeoutMs} ms:\n${out.slice(-4000)}`);
    }
    try {
      if ((await fetch(`${baseUrl}/ready`)).status === 200) return dev;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A JSON client of a running API with one identity. */
export function apiClient(baseUrl: string, claims: TokenClaims) {
  const token = tokenFor(claims);
  return async function call<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${baseUrl}/api/v1${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}
