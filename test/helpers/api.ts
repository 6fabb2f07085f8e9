import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import type { Knex } from 'knex';
import type Koa from 'koa';
import { createApp } from '../../src/api/app';
import { createApiServer } from '../../src/api/server';
import type { ApiContextExtras, ApiDeps, ApiState } from '../../src/api/deps';
import { Role, mintToken } from '../../src/auth/jwt';
import { loadConfig } from '../../src/config';
import type { ResolveHost } from '../../src/llm/providers/egress';
import { createApiSwitcher } from '../../src/processes/api';
import { createLogger } from '../../src/logger';
import { attachWebSocketHub, type WebSocketHub, type WebSocketHubOptions } from '../../src/ws/hub';

export const TEST_JWT_SECRET = 'annotation-orchestrator-test-secret-0123456789';

export interface TokenClaims {
  tenantId: string;
  sub: string;
  roles: Role[];
  projects?: string[];
  expiresIn?: number | string;
}

/** A token signed with the test secret, as the API under test expects. */
export function tokenFor(claims: TokenClaims): string {
  return mintToken({ secret: TEST_JWT_SECRET, expiresIn: '1h', ...claims });
}

export interface TestApi {
  baseUrl: string;
  app: Koa<ApiState, ApiContextExtras>;
  deps: ApiDeps;
  /** The WebSocket hub (ws://…/api/v1/annotation/ws); its relay starts with the first socket. */
  hub: WebSocketHub;
  tokenFor: typeof tokenFor;
  /** fetch against the API; `token` adds the bearer header, `json` sends a JSON body. */
  request(path: string, init?: RequestOptions): Promise<Response>;
  close(): Promise<void>;
}

export interface RequestOptions extends Omit<RequestInit, 'body'> {
  token?: string;
  json?: unknown;
  body?: RequestInit['body'];
}

/**
 * Starts the real app on an ephemeral port. Without `temporalClient` the Temporal client points
 * at a closed port (lazily, so nothing connects until /ready asks).
 */
export async function startTestApi(opts: {
  db: Knex;
  temporalClient?: Client;
  env?: Record<string, string>;
  ws?: WebSocketHubOptions;
  /** The resolver whose answers the engine egress policy checks (default: the system's). */
  resolveHost?: ResolveHost;
  /** Turn on POST /api/v1/dev/sign-in, as `anno dev` does. */
  devSignIn?: boolean;
  /** Where the built web app is read from (default: dist/app). */
  webAppDir?: string;
}): Promise<TestApi> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    JWT_SECRET: TEST_JWT_SECRET,
    ...opts.env,
  });
  let ownConnection: Connection | undefined;
  let client = opts.temporalClient;
  if (!client) {
    // No retry interceptor: its backoff timers would outlive close() and throw from the void.
    ownConnection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 500, interceptors: [] });
    client = new Client({ connection: ownConnection });
  }
  const deps: ApiDeps = {
    config,
    db: opts.db,
    logger: createLogger(config),
    temporal: { client, namespace: config.TEMPORAL_NAMESPACE },
    switcher: createApiSwitcher(config, opts.db, undefined, opts.resolveHost),
    devSignIn: opts.devSignIn,
    webAppDir: opts.webAppDir,
  };
  const app = createApp(deps);
  const server = createApiServer(app);
  const hub = attachWebSocketHub(server, deps, opts.ws);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    app,
    deps,
    hub,
    tokenFor,
    request: (path, init = {}) => apiFetch(baseUrl, path, init),
    async close() {
      await hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
      await ownConnection?.close().catch(() => undefined);
    },
  };
}

export function apiFetch(baseUrl: string, path: string, init: RequestOptions = {}): Promise<Response> {
  const { token, json, headers, ...rest } = init;
  const h = new Headers(headers);
  if (token) h.set('Authorization', `Bearer ${token}`);
  let body = rest.body;
  if (json !== undefined) {
    body = JSON.stringify(json);
    if (!h.has('Content-Type')) h.set('Content-Type', 'application/json');
  }
  return fetch(`${baseUrl}${path}`, { ...rest, headers: h, body });
}

/** The `error` object of an error response (asserting the shape every error must have). */
export async function errorOf(res: Response): Promise<{ code: string; message: string; details: { field: string; message: string }[]; correlation_id: string; timestamp: string }> {
  const body = (await res.json()) as { error: never };
  return body.error;
}
