import Router from '@koa/router';
import Koa from 'koa';
import { z } from 'zod';
import { createTokenVerifier } from '../auth/jwt';
import { metricsContentType, metricsText } from '../metrics';
import { METRICS_CHALLENGE, metricsScrapeAllowed } from '../metrics/token';
import type { ApiContextExtras, ApiDeps, ApiState } from './deps';
import { ApiError, FieldIssue, serviceUnavailable } from './errors';
import { identify } from './middleware/auth';
import { correlationId } from './middleware/correlation-id';
import { errorHandler } from './middleware/error-handler';
import { methodNotAllowed } from './middleware/method-not-allowed';
import { ClientRateLimit, rateLimit } from './middleware/rate-limit';
import { requestLogger } from './middleware/request-logger';
import { responseTime } from './middleware/response-time';
import { ErrorResponse, buildOpenApiDocument, defineRoute } from './openapi';
import { createApiRouter } from './router';
import { serveWebApp } from './web-app/static';
import './web-app/route-doc';

/** How long /ready waits for each dependency before calling it down. */
const READY_TIMEOUT_MS = 2000;

/**
 * The HTTP API. Global chain, outermost first: timing → correlation id → request log → error
 * shape → token (lenient) → rate limit → the web app at /app → routes → 404/405 (with Allow). Routes add auth(role) → body →
 * validate → handler (see `defineRoute`).
 */
export function createApp(deps: ApiDeps): Koa<ApiState, ApiContextExtras> {
  const app = new Koa<ApiState, ApiContextExtras>();
  app.context.deps = deps;
  // Behind N trusted proxies, ctx.ip is the client as the outermost one saw it (rate limit per client).
  app.proxy = deps.config.TRUST_PROXY > 0;
  app.maxIpsCount = deps.config.TRUST_PROXY;
  const api = createApiRouter();

  app.use(responseTime());
  app.use(correlationId());
  app.use(requestLogger());
  app.use(errorHandler());
  app.use(identify(createTokenVerifier(deps.config)));
  app.use(rateLimit(new ClientRateLimit(deps.config.RATE_LIMIT_PER_MINUTE)));
  app.use(serveWebApp(deps.webAppDir));
  app.use(routeNotFound);
  app.use(methodNotAllowed([opsRouter, api]));
  app.use(opsRouter.routes());
  app.use(api.routes());

  // Errors are answered by errorHandler; this only sees failures while writing the response.
  app.on('error', (err) => deps.logger.warn({ err }, 'response failed'));
  return app;
}

/** Nothing answered: a 404 in the error shape (methodNotAllowed, inside it, answers 405 first). */
const routeNotFound: Koa.Middleware<ApiState, ApiContextExtras> = async (ctx, next) => {
  await next();
  if (ctx.status === 404 && ctx.body == null) throw new ApiError(404, 'NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
};

// --- operational routes: no token ---------------------------------------------------------

const opsRouter = new Router<ApiState, ApiContextExtras>();
const ops = { tags: ['operations'], public: true, absolute: true } as const;

defineRoute(
  opsRouter,
  {
    ...ops,
    method: 'get',
    path: '/health',
    summary: 'Liveness: the process is up',
    responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('ok') }) } },
  },
  (ctx) => {
    ctx.body = { status: 'ok' };
  },
);

const ReadyResponse = z.object({
  status: z.literal('ready'),
  checks: z.object({ database: z.literal('ok'), temporal: z.literal('ok') }),
});

defineRoute(
  opsRouter,
  {
    ...ops,
    method: 'get',
    path: '/ready',
    summary: 'Readiness: the database and Temporal answer',
    description: '503 (error shape, details naming each dependency that is down) when either does not answer within about 2 s.',
    responses: { 200: { description: 'Ready', schema: ReadyResponse }, 503: { description: 'Not ready' } },
  },
  async (ctx) => {
    const problems = await readinessProblems(ctx.deps);
    if (problems.length) throw serviceUnavailable(`Not ready: ${problems.map((p) => p.field).join(', ')} unavailable`, problems);
    ctx.body = { status: 'ready', checks: { database: 'ok', temporal: 'ok' } };
  },
);

defineRoute(
  opsRouter,
  {
    ...ops,
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics',
    description:
      'Counters of this process, labelled by engine id, provider and route template (never tenant-chosen names). When the server sets `METRICS_TOKEN`, only `Authorization: Bearer <METRICS_TOKEN>` may scrape (401 otherwise); unset, it is open.',
    responses: {
      200: { description: 'Text exposition format', schema: z.string(), contentType: 'text/plain' },
      401: { description: 'METRICS_TOKEN is set and the request does not carry it', schema: ErrorResponse },
    },
  },
  async (ctx) => {
    // Not a JWT: the scraper is no tenant's user, and the token is compared in constant time.
    if (!metricsScrapeAllowed(ctx.get('Authorization') || undefined, ctx.deps.config.METRICS_TOKEN)) {
      throw new ApiError(401, 'UNAUTHORIZED', 'GET /metrics requires Authorization: Bearer <METRICS_TOKEN>', [], { 'WWW-Authenticate': METRICS_CHALLENGE });
    }
    ctx.type = metricsContentType;
    ctx.body = await metricsText();
  },
);

defineRoute(
  opsRouter,
  {
    ...ops,
    method: 'get',
    path: '/openapi.json',
    summary: 'This OpenAPI document',
    responses: { 200: { description: 'OpenAPI 3 document', schema: z.looseObject({ openapi: z.string() }) } },
  },
  (ctx) => {
    ctx.body = buildOpenApiDocument();
  },
);

export async function readinessProblems(deps: ApiDeps): Promise<FieldIssue[]> {
  const checks: [string, () => Promise<unknown>][] = [
    ['database', () => deps.db.raw('select 1')],
    // A gRPC deadline (not only our timer) so the client's retries stop too: nothing is left
    // in flight to fail later, e.g. after the connection is closed.
    [
      'temporal',
      () =>
        deps.temporal.client.withDeadline(Date.now() + READY_TIMEOUT_MS, () =>
          deps.temporal.client.workflowService.getSystemInfo({}),
        ),
    ],
  ];
  const results = await Promise.all(
    checks.map(async ([field, check]) => {
      try {
        await withTimeout(check(), READY_TIMEOUT_MS + 1000);
        return null;
      } catch (err) {
        deps.logger.warn({ err, dependency: field }, 'readiness check failed');
        return { field, message: (err as Error).message || 'unavailable' };
      }
    }),
  );
  return results.filter((r): r is FieldIssue => r !== null);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
