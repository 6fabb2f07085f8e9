import type { Middleware } from 'koa';
import { metrics } from '../../metrics';
import { httpMethodLabel, httpRouteLabel } from '../../metrics/labels';
import type { ApiContextExtras, ApiState } from '../deps';

/**
 * Outermost link: times the whole request, answers X-Response-Time (`3.2ms`) and observes the
 * HTTP histogram under the matched route template, so `/projects/:project_id` is one series
 * however many projects exist. Unmatched paths share one label and unusual methods one more, to
 * bound cardinality.
 */
export function responseTime(): Middleware<ApiState, ApiContextExtras> {
  return async (ctx, next) => {
    const start = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      ctx.set('X-Response-Time', `${ms.toFixed(1)}ms`);
      const route = (ctx as unknown as { _matchedRoute?: string | RegExp })._matchedRoute;
      metrics.httpRequestDuration.observe(
        { method: httpMethodLabel(ctx.method), route: httpRouteLabel(route), status: String(ctx.status) },
        ms / 1000,
      );
    }
  };
}
