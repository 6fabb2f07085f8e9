import type { Middleware } from 'koa';
import { UNAVAILABLE_RETRY_AFTER_S, unavailableDependency } from '../dependency-unavailable';
import { ApiError, FieldIssue, zodIssues } from '../errors';
import type { ApiContextExtras, ApiState } from '../deps';

/** The status → code table for errors that did not come from our factories (http-errors, body parsers). */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'VALIDATION_ERROR',
  429: 'RATE_LIMITED',
  501: 'NOT_IMPLEMENTED',
  503: 'SERVICE_UNAVAILABLE',
};

interface Rendered {
  status: number;
  code: string;
  message: string;
  details: FieldIssue[];
  headers: Record<string, string>;
}

/**
 * Every failure leaves as `{"error": {code, message, details, correlation_id, timestamp}}`.
 * Anything we do not recognise is a 500 whose message reveals nothing; the real error is logged
 * with the correlation id the client received.
 */
export function errorHandler(): Middleware<ApiState, ApiContextExtras> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const r = render(err);
      if (r.status >= 500) ctx.state.log?.error({ err }, 'request failed');
      else ctx.state.log?.debug({ code: r.code, message: r.message }, 'request rejected');
      ctx.status = r.status;
      for (const [k, v] of Object.entries(r.headers)) ctx.set(k, v);
      ctx.body = errorBody(r.code, r.message, r.details, ctx.state.correlationId);
    }
  };
}

export function errorBody(code: string, message: string, details: FieldIssue[], correlationId: string) {
  return { error: { code, message, details, correlation_id: correlationId, timestamp: new Date().toISOString() } };
}

function render(err: unknown): Rendered {
  if (err instanceof ApiError) {
    return { status: err.status, code: err.code, message: err.message, details: err.details, headers: err.headers };
  }
  const e = (err ?? {}) as {
    name?: string;
    status?: unknown;
    statusCode?: unknown;
    expose?: boolean;
    type?: string;
    code?: string;
    message?: string;
    headers?: Record<string, string>;
    issues?: unknown;
  };
  if (e.name === 'ZodError' && Array.isArray(e.issues)) {
    const details = zodIssues(err as Parameters<typeof zodIssues>[0]);
    return { status: 422, code: 'VALIDATION_ERROR', message: 'Request validation failed', details, headers: {} };
  }
  // Body parser (raw-body / co-body) failures carry a `type`.
  if (e.type === 'entity.parse.failed') return plain(400, 'MALFORMED_JSON', 'Request body is not valid JSON');
  if (e.type === 'entity.too.large') return plain(413, 'PAYLOAD_TOO_LARGE', 'Request body is too large');
  if (e.type === 'encoding.unsupported') return plain(415, 'UNSUPPORTED_MEDIA_TYPE', e.message ?? 'Unsupported encoding');
  // A unique index said no: a concurrent request won a race our checks could not see.
  if (e.code === '23505') return plain(409, 'CONFLICT', 'The resource already exists');

  const status = Number(e.status ?? e.statusCode);
  if (Number.isInteger(status) && status >= 400 && status < 600) {
    const exposed = status < 500 && e.expose !== false;
    return {
      status,
      code: CODE_BY_STATUS[status] ?? (status < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR'),
      message: exposed && e.message ? e.message : status < 500 ? 'Request failed' : 'Internal server error',
      details: [],
      headers: exposed && e.headers ? e.headers : {},
    };
  }
  const down = unavailableDependency(err);
  if (down) {
    return {
      status: 503,
      code: 'SERVICE_UNAVAILABLE',
      message: `The ${down === 'database' ? 'database' : 'workflow engine'} is unavailable; try again`,
      details: [{ field: down, message: 'unavailable' }],
      headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) },
    };
  }
  return plain(500, 'INTERNAL_ERROR', 'Internal server error');
}

function plain(status: number, code: string, message: string): Rendered {
  return { status, code, message, details: [], headers: {} };
}
