import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import {
  InvalidTokenError,
  canAccessProject,
  createTokenVerifier,
  hasAnyRole,
  mintToken,
  MAX_TOKEN_CHARS,
  toSeconds,
  verifyHs256,
} from '../../../src/auth/jwt';

const SECRET = 'unit-test-secret-0123456789abcdef';
const verify = createTokenVerifier({ jwtSecret: SECRET, JWT_JWKS_URL: undefined, JWT_ISSUER: undefined, JWT_AUDIENCE: undefined });

function sign(header: object, payload: object, secret = SECRET): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const s = crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${s}`;
}
const future = () => Math.floor(Date.now() / 1000) + 600;

describe('HS256 tokens', () => {
  it('mints a token the verifier turns into a principal', async () => {
    const token = mintToken({ secret: SECRET, tenantId: 't1', sub: 'u1', roles: ['manager', 'reviewer'], projects: ['p1'] });
    await expect(verify(token)).resolves.toEqual({ userId: 'u1', tenantId: 't1', roles: ['manager', 'reviewer'], projects: ['p1'] });
  });

  it('leaves projects undefined when the claim is absent (every project of the tenant)', async () => {
    const principal = await verify(mintToken({ secret: SECRET, tenantId: 't1', sub: 'u1', roles: ['viewer'] }));
    expect(principal.projects).toBeUndefined();
  });

  it.each([
    ['another secret', () => mintToken({ secret: 'a-different-secret-0123456789', tenantId: 't', sub: 'u', roles: ['admin'] }), /signature/],
    ['an expired token', () => mintToken({ secret: SECRET, tenantId: 't', sub: 'u', roles: ['admin'], expiresIn: -3600 }), /expired/],
    ['alg none', () => sign({ alg: 'none' }, { sub: 'u', tenant_id: 't', roles: ['admin'], exp: future() }).replace(/\.[^.]*$/, '.'), /alg/],
    ['alg HS512', () => sign({ alg: 'HS512' }, { sub: 'u', tenant_id: 't', roles: ['admin'], exp: future() }), /alg/],
    ['an unknown role', () => sign({ alg: 'HS256' }, { sub: 'u', tenant_id: 't', roles: ['superuser'], exp: future() }), /roles/],
    ['no tenant_id', () => sign({ alg: 'HS256' }, { sub: 'u', roles: ['admin'], exp: future() }), /tenant_id/],
    ['no exp', () => sign({ alg: 'HS256' }, { sub: 'u', tenant_id: 't', roles: ['admin'] }), /exp/],
    ['garbage', () => 'not.a.token!', /malformed/],
    ['two parts', () => 'abc.def', /malformed/],
  ])('rejects %s', async (_name, make, message) => {
    const err = await verify(make()).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidTokenError);
    expect(err.message).toMatch(message);
  });

  it('checks issuer and audience when configured', async () => {
    const token = mintToken({ secret: SECRET, tenantId: 't', sub: 'u', roles: ['admin'], issuer: 'idp', audience: 'anno' });
    expect((await verifyHs256(token, SECRET, { issuer: 'idp', audience: 'anno' })).sub).toBe('u');
    await expect(verifyHs256(token, SECRET, { issuer: 'other' })).rejects.toThrow(/iss/);
    await expect(verifyHs256(token, SECRET, { audience: 'other' })).rejects.toThrow(/aud/);
  });

  it('refuses a token over MAX_TOKEN_CHARS unread, and a valid one just under it verifies', async () => {
    const huge = mintToken({ secret: SECRET, tenantId: 't', sub: 'u', roles: ['admin'], projects: Array.from({ length: 600 }, (_, i) => `project-${i}`) });
    expect(huge.length).toBeGreaterThan(MAX_TOKEN_CHARS);
    await expect(verify(huge)).rejects.toThrow(/longer than/);
    const fits = mintToken({ secret: SECRET, tenantId: 't', sub: 'u', roles: ['admin'], projects: Array.from({ length: 200 }, (_, i) => `project-${i}`) });
    expect(fits.length).toBeLessThan(MAX_TOKEN_CHARS);
    await expect(verify(fits)).resolves.toMatchObject({ userId: 'u' });
  });

  it('is verified by jose (the verifier refuses what jose refuses: a crit header it does not know)', async () => {
    const token = sign({ alg: 'HS256', crit: ['x-unknown'], 'x-unknown': 1 }, { sub: 'u', tenant_id: 't', roles: ['admin'], exp: future() });
    await expect(verify(token)).rejects.toThrow(/crit|unsupported|Extension/i);
  });
});

describe('authorization helpers', () => {
  it('admin passes every role check', () => {
    expect(hasAnyRole({ userId: 'u', tenantId: 't', roles: ['admin'] }, ['manager'])).toBe(true);
    expect(hasAnyRole({ userId: 'u', tenantId: 't', roles: ['viewer'] }, ['manager'])).toBe(false);
    expect(hasAnyRole({ userId: 'u', tenantId: 't', roles: ['reviewer'] }, ['manager', 'reviewer'])).toBe(true);
  });

  it('canAccessProject honours the projects claim', () => {
    expect(canAccessProject({ userId: 'u', tenantId: 't', roles: [] }, 'p1')).toBe(true);
    expect(canAccessProject({ userId: 'u', tenantId: 't', roles: [], projects: ['p1'] }, 'p1')).toBe(true);
    expect(canAccessProject({ userId: 'u', tenantId: 't', roles: [], projects: ['p1'] }, 'p2')).toBe(false);
  });

  it('parses durations', () => {
    expect(toSeconds(90)).toBe(90);
    expect(toSeconds('30m')).toBe(1800);
    expect(toSeconds('12h')).toBe(43200);
    expect(toSeconds('7d')).toBe(604800);
    expect(() => toSeconds('soon')).toThrow(/invalid duration/);
  });
});

describe('JWKS verification', () => {
  // In a plain Node child through tsx (as `npm start` runs), against a real JWKS endpoint the
  // script serves itself: proves jose loads outside jest's compiled copy too.
  it('verifies RS256 tokens against a remote key set and refuses foreign keys', async () => {
    const script = path.join(__dirname, 'jwks-check.ts');
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(__dirname, '../../..'),
      timeout: 30_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.principal).toEqual({ userId: 'jwks-user', tenantId: 'jwks-tenant', roles: ['reviewer'] });
    expect(result.foreignKeyError).toMatch(/signature|no applicable key|key/i);
    expect(result.badClaimsError).toMatch(/roles/);
  }, 40_000);
});
