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
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Middleware } from 'koa';
import { z, type ZodObject, type ZodType } from 'zod';
import type { Role } from '../auth/jwt';
import type { ApiContextExtras, ApiState } from './deps';
import type { RouteAccess } from './access';
import { authorize } from './middleware/auth';
import { operationFor } from './operations';
import { requireJson } from './middleware/json-body';
import { RequestSchemas, ValidatedContext, validate } from './middleware/validate';
import { webSocketDescription } from './websocket-doc';

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
  400: 'Malformed JSON (MALFORMED_JSON) or an undecodable body',
  401: 'Missing or invalid bearer token',
  403: 'The role does not allow this action',
  404: 'Not found (also: a resource of another tenant, or outside the token’s projects)',
  413: 'Request body too large',
  415: 'Unsupported Content-Type',
  422: 'Validation failed; details name each field',
  429: 'Rate limit exceeded; see Retry-After',
  500: 'Internal error',
  503: 'A dependency (database or Temporal) is unavailable; see Retry-After',
};

/** Shapes of what a route answers, kept with the zod schemas for tests that check answers against the document. */
export interface DocumentedOperation {
  operationId: string;
  method: HttpMethod;
  /** OpenAPI syntax, with the /api/v1 prefix when it applies: `/api/v1/projects/{project_id}`. */
  path: string;
  request?: RequestSchemas;
  /** The body schema of each documented content type (NDJSON: one line's). */
  bodies: Record<string, ZodType>;
  /** Every documented status; `schema` undefined = no body documented. */
  responses: Record<number, { schema?: ZodType; contentType: string; alternatives?: Record<string, ZodType> }>;
  public: boolean;
  roles: Role[];
}

export const documentedOperations: DocumentedOperation[] = [];

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface ResponseSpec {
  description: string;
  schema?: ZodType;
  /** Defaults to application/json. */
  contentType?: string;
  /** Other content types the same status may answer with (an export's formats), each with its schema. */
  alternatives?: Record<string, ZodType>;
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
  /** Defaults to the entry in src/api/operations.ts (or one derived from method and path). */
  operationId?: string;
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

/** The error statuses a route's chain can answer (see `defineRoute`) plus its listed ones. */
export function errorStatusesOf(spec: RouteSpec<RequestSchemas>): Map<number, string> {
  const errors = new Map<number, string>();
  const add = (status: number, description = ERROR_DESCRIPTIONS[status]) => errors.set(status, description);
  add(500);
  add(503);
  if (!spec.public) [401, 429].forEach((s) => add(s));
  if (spec.roles?.length || spec.tenantWide) add(403);
  if (spec.path.includes(':')) add(404);
  if (spec.request || spec.rawBody) add(422);
  // requireJson (or the raw body reader) runs on every write: a body may come even when none is documented.
  if (spec.rawBody || spec.request?.body || ['post', 'put', 'patch'].includes(spec.method)) [400, 413, 415].forEach((s) => add(s));
  for (const [status, description] of Object.entries(operationFor(spec.method, spec.path).errors ?? {})) add(Number(status), description);
  return errors;
}

/** Adds a route to the OpenAPI document (defineRoute does this; call it alone only for routes mounted by hand). */
export function documentRoute<S extends RequestSchemas>(spec: RouteSpec<S>): void {
  const operationId = spec.operationId ?? operationFor(spec.method, spec.path).id;
  const path = toOpenApiPath(spec.absolute ? spec.path : `${API_PREFIX}${spec.path}`);
  ROUTE_ACCESS.push({ method: spec.method, path, roles: spec.roles, public: spec.public, tenantWide: spec.tenantWide });
  if (documentedOperations.some((o) => o.operationId === operationId)) throw new Error(`operationId ${operationId} is used twice`);

  const responses: RouteConfig['responses'] = {};
  const shapes: DocumentedOperation['responses'] = {};
  for (const [status, r] of Object.entries(spec.responses)) {
    responses[status] = {
      description: r.description,
      headers: headerRefs,
      ...(r.schema
        ? { content: { [r.contentType ?? 'application/json']: { schema: r.schema }, ...Object.fromEntries(Object.entries(r.alternatives ?? {}).map(([type, schema]) => [type, { schema }])) } }
        : {}),
    };
    shapes[Number(status)] = { schema: r.schema, contentType: r.contentType ?? 'application/json', ...(r.alternatives ? { alternatives: r.alternatives } : {}) };
  }
  for (const [status, description] of errorStatusesOf(spec)) {
    // A route's own entry without a schema (e.g. 503 "Not ready") still answers the error shape.
    if (responses[status] && spec.responses[status]?.schema) continue;
    const retryAfter = status === 429 || status === 503;
    responses[status] = {
      description: spec.responses[status]?.description ?? (status === 403 && spec.tenantWide ? `${description}, or a non-admin token has a projects restriction` : description),
      headers: retryAfter ? { ...headerRefs, 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' } } } : headerRefs,
      content: { 'application/json': { schema: ErrorResponse } },
    };
    shapes[status] = { schema: ErrorResponse, contentType: 'application/json' };
  }

  const body = spec.rawBody
    ? { description: spec.rawBody.description, required: true, content: mapValues(spec.rawBody.content, (schema) => ({ schema })) }
    : spec.request?.body
      ? { required: true, content: { 'application/json': { schema: spec.request.body } } }
      : undefined;

  registry.registerPath({
    method: spec.method,
    path,
    operationId,
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
  documentedOperations.push({
    operationId,
    method: spec.method,
    path,
    request: spec.request,
    bodies: spec.rawBody?.content ?? (spec.request?.body ? { 'application/json': spec.request.body } : {}),
    responses: shapes,
    public: Boolean(spec.public),
    roles: spec.roles ?? [],
  });
}

/** `/projects/:project_id` → `/projects/{project_id}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;
let cached: { size: number; doc: OpenApiDocument } | undefined;

/**
 * The OpenAPI 3.1 document of every registered route (cached until a route is added). 3.1, not
 * 3.0: its schemas are JSON Schema, so `z.unknown()` is `{}` and nullable is a type list, where
 * 3.0 wrote `nullable` without a `type`, which 3.0 forbids.
 */
export function buildOpenApiDocument(): OpenApiDocument {
  const size = registry.definitions.length;
  if (cached?.size === size) return cached.doc;
  const doc = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Annotation Orchestrator API',
      version: '1.0.0',
      license: { name: 'MIT', identifier: 'MIT' },
      description:
        'Durable AI-assisted annotation: projects and items, pre-annotation jobs, live suggestions, quality, review. ' +
        'JSON everywhere with snake_case fields; lists take page and page_size and answer {items, page, page_size, total}; ' +
        'errors answer {"error": {code, message, details, correlation_id, timestamp}}. ' +
        'A method a path does not have answers 405 with an Allow header; an unknown path 404 (both in the error shape). ' +
        'The WebSocket protocol (/api/v1/annotation/ws, /api/v1/collaboration/ws) is described under x-websocket and in docs/WEBSOCKET.md.',
    },
    servers: [{ url: '/' }],
  });
  const withWs = { ...doc, 'x-websocket': webSocketDescription() } as OpenApiDocument;
  cached = { size, doc: withWs };
  return withWs;
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}
