import crypto from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../config';

export const ROLES = ['admin', 'manager', 'annotator', 'reviewer', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/** Who is calling: what every authorization decision is made from. */
export interface Principal {
  userId: string;
  tenantId: string;
  roles: Role[];
  /** Project ids this user may touch; undefined means every project of the tenant. */
  projects?: string[];
}

export class InvalidTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidTokenError';
  }
}

const claimsSchema = z.object({
  sub: z.string().min(1).max(256),
  tenant_id: z.string().min(1).max(128),
  roles: z.array(roleSchema).max(ROLES.length),
  exp: z.number(),
  projects: z.array(z.string().min(1)).optional(),
});

/** Seconds of clock skew tolerated between the token issuer and us. */
const CLOCK_TOLERANCE_S = 30;

export type TokenVerifier = (token: string) => Promise<Principal>;

/**
 * HS256 with `config.jwtSecret`, or keys from `JWT_JWKS_URL` when that is set. Either way the
 * claims are checked with zod, so a token with an unknown role or no tenant never becomes a
 * Principal. Throws InvalidTokenError.
 */
export function createTokenVerifier(
  config: Pick<Config, 'jwtSecret' | 'JWT_JWKS_URL' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
): TokenVerifier {
  const expect = { issuer: config.JWT_ISSUER, audience: config.JWT_AUDIENCE };
  if (config.JWT_JWKS_URL) {
    const verifyRemote = jwksVerifier(config.JWT_JWKS_URL, expect);
    return async (token) => toPrincipal(await verifyRemote(token));
  }
  const secret = config.jwtSecret;
  if (!secret) throw new Error('createTokenVerifier: neither JWT_SECRET nor JWT_JWKS_URL is configured');
  return async (token) => toPrincipal(verifyHs256(token, secret, expect));
}

export function toPrincipal(payload: unknown): Principal {
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidTokenError(`invalid claim ${issue.path.join('.') || '(payload)'}: ${issue.message}`);
  }
  const c = parsed.data;
  return { userId: c.sub, tenantId: c.tenant_id, roles: [...new Set(c.roles)], projects: c.projects };
}

export interface MintOptions {
  secret: string;
  tenantId: string;
  sub: string;
  roles: Role[];
  projects?: string[];
  /** Seconds, or a span like `12h`, `30m`, `7d`. */
  expiresIn?: number | string;
  issuer?: string;
  audience?: string;
}

/** Signs an HS256 token (the `anno token` command and tests). */
export function mintToken(o: MintOptions): string {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub: o.sub,
    tenant_id: o.tenantId,
    roles: o.roles,
    iat: now,
    exp: now + toSeconds(o.expiresIn ?? '12h'),
  };
  if (o.projects) payload.projects = o.projects;
  if (o.issuer) payload.iss = o.issuer;
  if (o.audience) payload.aud = o.audience;
  const head = b64json({ alg: 'HS256', typ: 'JWT' });
  const body = b64json(payload);
  return `${head}.${body}.${hmac(o.secret, `${head}.${body}`).toString('base64url')}`;
}

export function canAccessProject(principal: Principal, projectId: string): boolean {
  return principal.projects === undefined || principal.projects.includes(projectId);
}

/** `admin` passes every role check. */
export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return principal.roles.includes('admin') || roles.some((r) => principal.roles.includes(r));
}

// --- HS256 -------------------------------------------------------------------------------
// Done with node:crypto rather than jose: jose 6 is ESM-only and Jest (on Node 20) cannot load
// it, which would break every test that builds the API. The algorithm is pinned to HS256, so
// `alg: none` and key-confusion tricks are rejected before any signature work.

interface Expectations {
  issuer?: string;
  audience?: string;
}

export function verifyHs256(token: string, secret: string, expect: Expectations = {}): Record<string, unknown> {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p))) throw new InvalidTokenError('malformed token');
  const header = decodeJson(parts[0], 'header');
  if (header.alg !== 'HS256') throw new InvalidTokenError(`unsupported alg ${String(header.alg)}`);
  if (header.crit !== undefined) throw new InvalidTokenError('unsupported crit header');
  const expected = hmac(secret, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2], 'base64url');
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    throw new InvalidTokenError('signature verification failed');
  }
  const payload = decodeJson(parts[1], 'payload');
  checkTimesAndAudience(payload, expect);
  return payload;
}

function checkTimesAndAudience(payload: Record<string, unknown>, expect: Expectations): void {
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.exp !== 'number') throw new InvalidTokenError('missing exp');
  if (payload.exp + CLOCK_TOLERANCE_S <= now) throw new InvalidTokenError('token expired');
  if (typeof payload.nbf === 'number' && payload.nbf - CLOCK_TOLERANCE_S > now) throw new InvalidTokenError('token not yet valid');
  if (expect.issuer && payload.iss !== expect.issuer) throw new InvalidTokenError('unexpected iss');
  if (expect.audience) {
    const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (!aud.includes(expect.audience)) throw new InvalidTokenError('unexpected aud');
  }
}

// --- JWKS --------------------------------------------------------------------------------
// jose does the key fetching, caching, rotation and asymmetric verification. It is imported
// lazily (Node 20.19+ can require ESM; Jest cannot), so only JWKS deployments load it.

function jwksVerifier(url: string, expect: Expectations): (token: string) => Promise<unknown> {
  let ready: Promise<(token: string) => Promise<unknown>> | undefined;
  const init = async () => {
    const jose = await import('jose');
    const keys = jose.createRemoteJWKSet(new URL(url));
    return async (token: string) => {
      try {
        const { payload } = await jose.jwtVerify(token, keys, {
          issuer: expect.issuer,
          audience: expect.audience,
          clockTolerance: CLOCK_TOLERANCE_S,
          requiredClaims: ['exp'],
        });
        return payload;
      } catch (err) {
        throw new InvalidTokenError((err as Error).message);
      }
    };
  };
  return async (token) => {
    ready ??= init().catch((err) => {
      ready = undefined; // a failed import or bad URL is retried on the next request
      throw err;
    });
    return (await ready)(token);
  };
}

// --- helpers -----------------------------------------------------------------------------

function hmac(secret: string, data: string): Buffer {
  return crypto.createHmac('sha256', secret).update(data).digest();
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new InvalidTokenError(`malformed token ${what}`);
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function toSeconds(span: number | string): number {
  if (typeof span === 'number') return Math.floor(span);
  const m = /^(\d+)\s*([smhd]?)$/.exec(span.trim());
  if (!m) throw new Error(`invalid duration "${span}" (use e.g. 3600, 30m, 12h, 7d)`);
  return Number(m[1]) * UNIT_SECONDS[m[2] || 's'];
}
