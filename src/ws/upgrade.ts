import type http from 'node:http';
import type { Principal, TokenVerifier } from '../auth/jwt';

/**
 * Who may open a WebSocket: the upgrade request's path must be one of `paths` and its `?token=` a
 * valid token. `principal` resolves to null for a missing or bad token (the hub then closes the
 * socket 1008 after the handshake, so the client sees why). `expiresAt` (ms) is the token's `exp`.
 */
export type UpgradeCheck =
  | { ok: false }
  | { ok: true; token: string | null; principal: Promise<Principal | null>; expiresAt: () => number | null };

export function checkUpgrade(req: http.IncomingMessage, paths: string[], verify: TokenVerifier): UpgradeCheck {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (!paths.includes(url.pathname.replace(/\/+$/, ''))) return { ok: false };
  const token = url.searchParams.get('token');
  return {
    ok: true,
    token,
    principal: token ? verify(token).catch(() => null) : Promise.resolve(null),
    expiresAt: () => (token ? tokenExpiry(token) : null),
  };
}

/** `exp` (ms) of a token that has already been verified; null when it cannot be read. */
function tokenExpiry(token: string): number | null {
  try {
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}
