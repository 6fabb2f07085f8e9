import crypto from 'node:crypto';
import * as jose from 'jose';
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
  // Imported once: given the raw bytes, jose imports a key on every verification.
  const key = crypto.webcrypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify']);
  return async (token) => toPrincipal(await verifyWith(token, await key, ['HS256'], expect));
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

// --- verification: jose only ------------------------------------------------------------
// Both kinds go through jose's jwtVerify with the algorithm pinned (HS256 for the shared
// secret; the JWKS keys' own asymmetric algorithms, never HMAC, for a remote key set), so
// `alg: none` and key-confusion tricks are refused before any signature work. jose is ESM
// only: jest compiles it (jest.config.js), tsx loads it, and the compiled CommonJS build
// require()s it (Node >= 20.19).

interface Expectations {
  issuer?: string;
  audience?: string;
}

/** The largest token we try to verify; a longer one is refused unread. */
export const MAX_TOKEN_CHARS = 8192;

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Verifies an HS256 token with `secret`; resolves to its payload. Throws InvalidTokenError. */
export async function verifyHs256(token: string, secret: string, expect: Expectations = {}): Promise<Record<string, unknown>> {
  return verifyWith(token, new TextEncoder().encode(secret), ['HS256'], expect);
}

function jwksVerifier(url: string, expect: Expectations): (token: string) => Promise<unknown> {
  const keys = jose.createRemoteJWKSet(new URL(url));
  return (token) => verifyWith(token, keys, ASYMMETRIC_ALGS, expect);
}

async function verifyWith(
  token: string,
  key: Uint8Array | crypto.webcrypto.CryptoKey | ReturnType<typeof jose.createRemoteJWKSet>,
  algorithms: string[],
  expect: Expectations,
): Promise<Record<string, unknown>> {
  if (token.length > MAX_TOKEN_CHARS) throw new InvalidTokenError(`token longer than ${MAX_TOKEN_CHARS} characters`);
  const options: jose.JWTVerifyOptions = {
    algorithms,
    issuer: expect.issuer,
    audience: expect.audience,
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ['exp'],
  };
  try {
    const { payload } = typeof key === 'function' ? await jose.jwtVerify(token, key, options) : await jose.jwtVerify(token, key, options);
    return payload as Record<string, unknown>;
  } catch (err) {
    throw new InvalidTokenError(joseReason(err));
  }
}

/** jose's error as a short, stable reason (the 401's message). */
function joseReason(err: unknown): string {
  const e = err as { code?: string; claim?: string; reason?: string; message?: string };
  switch (e.code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature verification failed';
    case 'ERR_JWT_EXPIRED':
      return 'token expired';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'unsupported alg';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return `malformed token (${e.message})`;
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `invalid claim ${e.claim}: ${e.reason === 'missing' ? 'missing' : e.message}`;
    case 'ERR_JOSE_NOT_SUPPORTED':
      return `unsupported token (${e.message})`;
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no applicable key in the key set';
    default:
      return e.message || 'invalid token';
  }
}

// --- helpers -----------------------------------------------------------------------------

function hmac(secret: string, data: string): Buffer {
  return crypto.createHmac('sha256', secret).update(data).digest();
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

export function toSeconds(span: number | string): number {
  if (typeof span === 'number') return Math.floor(span);
  const m = /^(\d+)\s*([smhd]?)$/.exec(span.trim());
  if (!m) throw new Error(`invalid duration "${span}" (use e.g. 3600, 30m, 12h, 7d)`);
  return Number(m[1]) * UNIT_SECONDS[m[2] || 's'];
}
