import Router from '@koa/router';
import { z } from 'zod';
import { ROLES, mintToken, roleSchema, toSeconds } from '../../auth/jwt';
import type { ApiContextExtras, ApiState } from '../deps';
import { ApiError } from '../errors';
import { defineRoute } from '../openapi';

export const devSignInRouter = new Router<ApiState, ApiContextExtras>();

/** How long a development token lives: a working day, as `anno token` defaults to. */
const DEV_TOKEN_LIFETIME = '12h';

const DevSignInBody = z
  .object({
    tenant_id: z.string().trim().min(1).max(128),
    user_id: z.string().trim().min(1).max(256),
    roles: z.array(roleSchema).min(1).max(ROLES.length),
    projects: z.array(z.uuid()).min(1).max(100).optional().meta({ description: 'Restrict the token to these projects (default: every project of the tenant)' }),
  })
  .strict()
  .meta({ id: 'DevSignIn' });

const DevSignInResponse = z
  .object({
    token: z.string().meta({ description: 'A bearer token signed as `anno token` signs it' }),
    expires_at: z.string().meta({ format: 'date-time' }),
    tenant_id: z.string(),
    user_id: z.string(),
    roles: z.array(roleSchema),
  })
  .meta({ id: 'DevSignInToken' });

defineRoute(
  devSignInRouter,
  {
    method: 'post',
    path: '/dev/sign-in',
    tags: ['web app'],
    summary: 'Development sign-in: mint a token for a chosen user and roles',
    description:
      'Only in `anno dev` (`npm start`) with an HS256 secret, never in production: the web app at /app uses it to sign in as any user of any tenant, ' +
      'with the same signing as `anno token`. Everywhere else it answers 404.',
    public: true,
    request: { body: DevSignInBody },
    responses: { 200: { description: 'A token', schema: DevSignInResponse } },
  },
  (ctx) => {
    const { config, devSignIn } = ctx.deps;
    const secret = config.jwtSecret;
    // Off unless the dev process turned it on; production and JWKS setups (no secret of ours) never mint.
    if (!devSignIn || config.NODE_ENV === 'production' || config.JWT_JWKS_URL || !secret) {
      throw new ApiError(404, 'NOT_FOUND', 'Development sign-in is only available in `anno dev`; paste a bearer token instead');
    }
    const body = ctx.state.input.body;
    const token = mintToken({
      secret,
      tenantId: body.tenant_id,
      sub: body.user_id,
      roles: body.roles,
      projects: body.projects,
      expiresIn: DEV_TOKEN_LIFETIME,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
    });
    ctx.body = {
      token,
      expires_at: new Date(Date.now() + toSeconds(DEV_TOKEN_LIFETIME) * 1000).toISOString(),
      tenant_id: body.tenant_id,
      user_id: body.user_id,
      roles: [...new Set(body.roles)],
    };
  },
);
