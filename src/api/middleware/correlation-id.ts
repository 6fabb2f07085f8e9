import crypto from 'node:crypto';
import type { Middleware } from 'koa';
import type { ApiContextExtras, ApiState } from '../deps';

// Client-sent ids are echoed only when they look like ids: no header or log injection.
const SAFE_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

/**
 * Takes the request's X-Correlation-ID (or X-Request-ID) or makes a new UUID, keeps it on
 * `ctx.state.correlationId` and answers it in X-Correlation-ID, so a client can quote it.
 */
export function correlationId(): Middleware<ApiState, ApiContextExtras> {
  return async (ctx, next) => {
    const incoming = ctx.get('X-Correlation-ID') || ctx.get('X-Request-ID');
    const id = SAFE_ID.test(incoming) ? incoming : crypto.randomUUID();
    ctx.state.correlationId = id;
    ctx.state.log = ctx.deps.logger.child({ correlation_id: id });
    ctx.set('X-Correlation-ID', id);
    await next();
  };
}
