import type { Middleware } from 'koa';
import { InvalidTokenError, Role, TokenVerifier } from '../../auth/jwt';
import { accessVerdict, forbiddenReason, type RouteAccess } from '../access';
import { forbidden, unauthorized } from '../errors';
import type { ApiContextExtras, ApiState } from '../deps';

type Mw = Middleware<ApiState, ApiContextExtras>;

/**
 * Global and lenient: verifies a bearer token if one came, leaving `ctx.state.principal` (or
 * the reason it was refused) for the rate limiter and for `authenticate`. It never rejects, so
 * public routes still answer and the limiter can key unauthenticated requests by IP.
 */
export function identify(verify: TokenVerifier): Mw {
  return async (ctx, next) => {
    const header = ctx.get('Authorization');
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) ctx.state.authError = 'Authorization header must be "Bearer <token>"';
      else {
        try {
          ctx.state.principal = await verify(m[1]);
        } catch (err) {
          if (!(err instanceof InvalidTokenError)) throw err;
          ctx.state.authError = `Invalid token: ${err.message}`;
        }
      }
    }
    await next();
  };
}

/** 401 unless `identify` found a valid token. */
export const authenticate: Mw = async (ctx, next) => {
  if (!ctx.state.principal) throw unauthorized(ctx.state.authError ?? 'A bearer token is required');
  await next();
};

/**
 * 403 unless the principal may call a route with this access (`accessVerdict`: one of its roles,
 * `admin` always; a tenant-wide change needs a token without `projects`).
 */
export function requireAccess(access: Omit<RouteAccess, 'method' | 'path'>): Mw {
  return async (ctx, next) => {
    const principal = ctx.state.principal;
    if (!principal) throw unauthorized();
    const route = { method: ctx.method, path: ctx.path, ...access };
    if (accessVerdict(route, principal) === 'forbidden') throw forbidden(forbiddenReason(route, principal));
    await next();
  };
}

/** 403 unless the principal holds one of `roles`; `admin` passes every check. */
export function requireRole(...roles: Role[]): Mw {
  return requireAccess({ roles });
}

/** A token, then `requireAccess`: what `defineRoute` puts in front of every non-public route. */
export function authorize(access: Omit<RouteAccess, 'method' | 'path'>): Mw {
  const check = requireAccess(access);
  return (ctx, next) => authenticate(ctx, () => check(ctx, next));
}

/** `auth()` = any authenticated user; `auth('manager')` = a manager (or admin). */
export function auth(...roles: Role[]): Mw {
  return authorize({ roles });
}
