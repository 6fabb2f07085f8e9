/**
 * The signed-in user: a bearer token kept in sessionStorage (gone when the tab closes, never in a
 * URL except the WebSocket's, as the API requires). The claims are read only to choose views;
 * the API verifies the token on every call.
 */
export type Role = 'admin' | 'manager' | 'annotator' | 'reviewer' | 'viewer';

export interface Session {
  token: string;
  userId: string;
  tenantId: string;
  roles: Role[];
  /** Seconds since the epoch. */
  expiresAt: number;
}

const KEY = 'anno.token';

export function claimsOf(token: string): Session | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/'));
    const c = JSON.parse(json) as { sub?: unknown; tenant_id?: unknown; roles?: unknown; exp?: unknown };
    if (typeof c.sub !== 'string' || typeof c.tenant_id !== 'string' || !Array.isArray(c.roles) || typeof c.exp !== 'number') return null;
    return { token, userId: c.sub, tenantId: c.tenant_id, roles: c.roles as Role[], expiresAt: c.exp };
  } catch {
    return null;
  }
}

export function loadSession(): Session | null {
  const token = sessionStorage.getItem(KEY);
  const session = token ? claimsOf(token) : null;
  if (!session || session.expiresAt * 1000 <= Date.now()) {
    sessionStorage.removeItem(KEY);
    return null;
  }
  return session;
}

export function saveSession(token: string): Session | null {
  const session = claimsOf(token);
  if (session) sessionStorage.setItem(KEY, token);
  return session;
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

export const hasRole = (s: Session, ...roles: Role[]) => s.roles.includes('admin') || roles.some((r) => s.roles.includes(r));
