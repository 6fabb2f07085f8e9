import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { ParameterizedContext } from 'koa';
import type { RouterContext } from '@koa/router';
import type { Principal } from '../auth/jwt';
import type { Config } from '../config';
import type { Switcher } from '../llm/switcher';
import type { Logger } from '../logger';

/** Everything a request handler may touch; built once by the process that serves the API. */
export interface ApiDeps {
  config: Config;
  db: Knex;
  logger: Logger;
  temporal: { client: Client; namespace: string };
  /** The LLM switcher for live suggestions, engine health and compare (routes answer 503 without it). */
  switcher?: Switcher;
  /** POST /api/v1/dev/sign-in mints tokens (only `anno dev` turns it on; see src/api/dev-sign-in). */
  devSignIn?: boolean;
  /** The built web app served at /app (default: dist/app of this checkout). */
  webAppDir?: string;
}

/** What the middleware chain leaves on `ctx.state` for the next link. */
export interface ApiState {
  correlationId: string;
  /** Request-scoped logger carrying the correlation id. */
  log: Logger;
  /** Set by `identify` when a valid bearer token came with the request. */
  principal?: Principal;
  /** Why the token (if any) was refused; `authenticate` reports it in the 401. */
  authError?: string;
  /** The parsed JSON body (`requireJson`), before validation. */
  body?: unknown;
  /** Validated input (`validate`). */
  input?: unknown;
}

/** Added to Koa's context prototype by `createApp` (`app.context.deps`). */
export interface ApiContextExtras {
  deps: ApiDeps;
}

export type ApiContext = ParameterizedContext<ApiState, ApiContextExtras>;
export type ApiRouterContext<S = ApiState> = RouterContext<S, ApiContextExtras>;
