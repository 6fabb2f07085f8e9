import type Router from '@koa/router';
import type { Middleware } from 'koa';
import { ApiError } from '../errors';
import type { ApiContextExtras, ApiState } from '../deps';

/** Methods some route of the app implements (HEAD comes with GET; OPTIONS is answered here). */
const IMPLEMENTED = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * After the routers: a path that exists but not with this method, or a method no route has
 * (TRACE, QUERY, CONNECT, …), is a 405 in the error shape with `Allow` (the path's methods, or
 * every method the API implements when the path is unknown). OPTIONS on a known path answers
 * 204 with `Allow`. Replaces @koa/router's allowedMethods, whose thrown 405/501 carry no `Allow`.
 */
export function methodNotAllowed(routers: Router<ApiState, ApiContextExtras>[]): Middleware<ApiState, ApiContextExtras> {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    const method = ctx.method.toUpperCase();
    const allowed = allowedMethods(routers, ctx.path);
    if (allowed.length && method === 'OPTIONS') {
      ctx.set('Allow', allowed.join(', '));
      ctx.status = 204;
      return;
    }
    if (allowed.length ? !allowed.includes(method) : !IMPLEMENTED.includes(method)) {
      const allow = (allowed.length ? allowed : IMPLEMENTED).join(', ');
      throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${ctx.path}; allowed: ${allow}`, [], { Allow: allow });
    }
  };
}

/** The methods of every route (not middleware) whose path matches, HEAD with GET, plus OPTIONS. */
export function allowedMethods(routers: Router<ApiState, ApiContextExtras>[], path: string): string[] {
  const methods = new Set<string>();
  for (const router of routers) {
    for (const layer of router.match(path, 'GET').path) for (const m of layer.methods) methods.add(m);
  }
  if (!methods.size) return [];
  if (methods.has('GET')) methods.add('HEAD');
  methods.add('OPTIONS');
  return IMPLEMENTED.filter((m) => methods.has(m));
}
