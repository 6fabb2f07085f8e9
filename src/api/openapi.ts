/**
 * The OpenAPI registry every route is documented in, and `defineRoute`, which mounts a route
 * and documents it in one call, so a schema is written once and serves both validation and
 * the spec at GET /openapi.json.
 *
 * Adding a resource (see src/api/projects/routes.ts for a full one):
 *
 *   // src/api/widgets/routes.ts
 *   export const widgetsRouter = new Router<ApiState, ApiContextExtras>();
 *   defineRoute(widgetsRouter, {
 *     method: 'post', path: '/widgets/:widget_id/spin', tags: ['widgets'], summary: 'Spin a widget',
 *     roles: ['manager'],                         // omit: any authenticated user; admin always passes
 *     request: { params: WidgetParams, body: SpinBody, query: paginationQuery },  // zod schemas
 *     responses: { 202: { description: 'Spinning', schema: SpinResponse } },
 *   }, async (ctx) => {
 *     const { params, body } = ctx.state.input;     // typed from the schemas above
 *     ctx.status = 202; ctx.body = present(...);
 *   });
 *   // then append `widgetsRouter` to RESOURCE_ROUTERS in src/api/router.ts
 *
 * Inside handlers: load what the caller names through `findProjectForPrincipal` /
 * `scopeToPrincipal` (src/api/scope.ts), so another tenant's resource is a 404; throw the
 * factories of src/api/errors.ts; lists take `paginationQuery.extend({...})`, answer
 * `paged(rows.map(present), query, total)` and document `pageOf(ItemSchema)`.
 *
 * Paths are relative to /api/v1 and use Koa's `:param` syntax. Standard error responses
 * (401/403/404/413/415/422/429/500 as they apply) are added to the spec automatically. Give
 * reusable schemas a name with `.meta({ id: 'Widget' })` so they land in components/schemas.
 */
import Router from '@koa/router';
import { OpenAPIRegistry, OpenApiGeneratorV3, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Middleware } from 'koa';
import { z, type ZodObject, type ZodType } from 'zod';
import type { Role } from '../auth/jwt';
import type { ApiContextExtras, ApiState } from './deps';
import type { RouteAccess } from './access';
import { authorize } from './middleware/auth';
import { requireJson } from './middleware/json-body';
import { RequestSchemas, ValidatedContext, validate } from './middleware/validate';

export const API_PREFIX = '/api/v1';

export const registry = new OpenAPIRegistry();

export const ErrorResponse = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'VALIDATION_ERROR' }),
      message: z.string(),
      details: z.array(z.object({ field: z.string(), message: z.string() })),
      correlation_id: z.string(),
      timestamp: z.string().meta({ format: 'date-time' }),
    }),
  })
  .meta({ id: 'Error' });

const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description: 'HS256 (JWT_SECRET) or JWKS-verified JWT with sub, tenant_id, roles, exp and optional projects',
});

// Headers on every response, documented once and referenced everywhere.
const COMMON_HEADERS: Record<string, string> = {
  'X-Correlation-ID': "The request's X-Correlation-ID / X-Request-ID, or a new id",
  'X-Response-Time': 'Server time spent, e.g. 3.2ms',
  'X-RateLimit-Limit': 'Requests allowed per minute for this user (or IP)',
  'X-RateLimit-Remaining': 'Requests left in the current window',
  'X-RateLimit-Reset': 'When the window resets, unix seconds',
};
for (const [name, description] of Object.entries(COMMON_HEADERS)) {
  registry.registerComponent('headers', name, { description, schema: { type: 'string' } });
}
const headerRefs = Object.fromEntries(Object.keys(COMMON_HEADERS).map((n) => [n, { $ref: `#/components/headers/${n}` }]));

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Malformed JSON (MALFORMED_JSON)',
  401: 'Missing or invalid bearer token',
  403: 'The role does not allow this action',
  404: 'Not found (also: a resource of another tenant, or outside the token’s projects)',
  413: 'Request body too large',
  415: 'Unsupported Content-Type',
  422: 'Validation failed; details name each field',
  429: 'Rate limit exceeded; see Retry-After',
  500: 'Internal error',
  503: 'A dependency is unavailable',
};

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: ZodType;
  /** Defaults to application/json. */
  contentType?: string;
}

export interface RouteSpec<S extends RequestSchemas> {
  method: HttpMethod;
  /** Relative to /api/v1 (unless `absolute`), Koa syntax: `/projects/:project_id`. */
  path: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  /** Roles allowed; omitted = any authenticated user. `admin` passes every check. */
  roles?: Role[];
  /** No token needed (operational endpoints only). */
  public?: boolean;
  /**
   * Changes what every project of the tenant uses (engines): besides `roles`, a non-admin
   * caller's token must have no `projects` restriction (403 otherwise). See src/api/access.ts.
   */
  tenantWide?: boolean;
  request?: S;
  /**
   * Body content types the handler reads from the raw stream itself (e.g. NDJSON); the JSON body
   * parser is skipped and `request.body` must be omitted. The schemas only document the body.
   */
  rawBody?: { description?: string; content: Record<string, ZodType> };
  responses: Record<number, ResponseSpec>;
  /** Documented and mounted outside /api/v1. */
  absolute?: boolean;
}

/** Documents and mounts a route: auth(roles) → JSON body → validate → handler. */
export function defineRoute<S extends RequestSchemas>(
  router: Router<ApiState, ApiContextExtras>,
  spec: RouteSpec<S>,
  handler: (ctx: ValidatedContext<S>) => unknown,
): void {
  if (spec.rawBody && spec.request?.body) throw new Error(`${spec.method} ${spec.path}: use either request.body or rawBody`);
  documentRoute(spec);
  const chain: Middleware<ApiState, ApiContextExtras>[] = [];
  if (!spec.public) chain.push(authorize({ roles: spec.roles, tenantWide: spec.tenantWide }));
  if (['post', 'put', 'patch'].includes(spec.method) && !spec.rawBody) chain.push(requireJson());
  if (spec.request) chain.push(validate(spec.request));
  // The handler ends the chain: a matched route never falls through to the 404 fallback.
  chain.push(async (ctx) => {
    await handler(ctx as unknown as ValidatedContext<S>);
  });
  router.register(spec.path, [spec.method.toUpperCase()], chain as never);
}

/**
 * Who may call each documented route, in the order documented: the README's role matrix and the
 * route-by-route role test read it (see src/api/access.ts).
 */
export const ROUTE_ACCESS: RouteAccess[] = [];

/** Adds a route to the OpenAPI document (defineRoute does this; call it alone only for routes mounted by hand). */
export function documentRoute<S extends RequestSchemas>(spec: RouteSpec<S>): void {
  const fullPath = toOpenApiPath(spec.absolute ? spec.path : `${API_PREFIX}${spec.path}`);
  ROUTE_ACCESS.push({ method: spec.method, path: fullPath, roles: spec.roles, public: spec.public, tenantWide: spec.tenantWide });
  const hasBody = Boolean(spec.request?.body || spec.rawBody);
  const errors = new Set<number>([500]);
  if (!spec.public) [401, 429].forEach((s) => errors.add(s));
  if (spec.roles?.length || spec.tenantWide) errors.add(403);
  if (spec.path.includes(':')) errors.add(404);
  if (spec.request || spec.rawBody) errors.add(422);
  if (hasBody) [400, 413, 415].forEach((s) => errors.add(s));

  const responses: RouteConfig['responses'] = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = {
      description: r.description,
      headers: headerRefs,
      ...(r.schema ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema } } } : {}),
    };
  }
  for (const status of errors) {
    if (responses[status]) continue;
    responses[status] = {
      description: status === 403 && spec.tenantWide ? `${ERROR_DESCRIPTIONS[403]}, or a non-admin token has a projects restriction` : ERROR_DESCRIPTIONS[status],
      headers: status === 429 ? { ...headerRefs, 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } } : headerRefs,
      content: { 'application/json': { schema: ErrorResponse } },
    };
  }

  const body = spec.rawBody
    ? { description: spec.rawBody.description, required: true, content: mapValues(spec.rawBody.content, (schema) => ({ schema })) }
    : spec.request?.body
      ? { required: true, content: { 'application/json': { schema: spec.request.body } } }
      : undefined;

  registry.registerPath({
    method: spec.method,
    path: fullPath,
    summary: spec.summary,
    description: spec.description,
    tags: [...spec.tags],
    security: spec.public ? [] : [{ [bearer.name]: [] }],
    request: {
      params: spec.request?.params as ZodObject | undefined,
      query: spec.request?.query as ZodObject | undefined,
      body,
    },
    responses,
  });
}

/** `/projects/:project_id` → `/projects/{project_id}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

let cached: { size: number; doc: ReturnType<OpenApiGeneratorV3['generateDocument']> } | undefined;

/** The OpenAPI 3 document of every registered route (cached until a route is added). */
export function buildOpenApiDocument() {
  const size = registry.definitions.length;
  if (cached?.size === size) return cached.doc;
  const doc = new OpenApiGeneratorV3(registry.definitions).generateDocument({
    openapi: '3.0.3',
    info: {
      title: 'Annotation Orchestrator API',
      version: '1.0.0',
      description:
        'Durable AI-assisted annotation: projects and items, pre-annotation jobs, live suggestions, quality, review. ' +
        'JSON everywhere with snake_case fields; lists take page and page_size and answer {items, page, page_size, total}; ' +
        'errors answer {"error": {code, message, details, correlation_id, timestamp}}.',
    },
    servers: [{ url: '/' }],
  });
  cached = { size, doc };
  return doc;
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
