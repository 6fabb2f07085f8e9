import type { Middleware } from 'koa';
import type { ApiContextExtras, ApiState } from '../deps';

/** One log line per request, after it is answered (errors are logged by the error handler). */
export function requestLogger(): Middleware<ApiState, ApiContextExtras> {
  return async (ctx, next) => {
    const start = Date.now();
    await next();
    ctx.state.log.info(
      {
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        duration_ms: Date.now() - start,
        user_id: ctx.state.principal?.userId,
        tenant_id: ctx.state.principal?.tenantId,
      },
      'request',
    );
  };
}
