import { ROLES, type Role } from '../auth/jwt';

/**
 * Who may call a route, as its `defineRoute` spec declares it: the one rule the auth middleware
 * enforces, the README's role matrix is rendered from and the route-by-route role test checks.
 * Pure: no I/O.
 */
export interface RouteAccess {
  method: string;
  /** OpenAPI form: `/api/v1/projects/{project_id}`. */
  path: string;
  /** Roles allowed; empty or omitted = any role. `admin` always passes. */
  roles?: readonly Role[];
  /** No token needed. */
  public?: boolean;
  /**
   * Changes something every project of the tenant uses (an engine): a non-admin caller's token
   * must have no `projects` restriction, else 403.
   */
  tenantWide?: boolean;
}

export interface Caller {
  roles: readonly Role[];
  projects?: readonly string[];
}

export type AccessVerdict = 'allowed' | 'unauthenticated' | 'forbidden';

/** What the auth middleware answers a caller (undefined: no valid token) before the handler runs. */
export function accessVerdict(route: RouteAccess, caller: Caller | undefined): AccessVerdict {
  if (route.public) return 'allowed';
  if (!caller) return 'unauthenticated';
  if (caller.roles.includes('admin')) return 'allowed';
  const roles = route.roles ?? [];
  if (roles.length && !roles.some((r) => caller.roles.includes(r))) return 'forbidden';
  if (route.tenantWide && caller.projects !== undefined) return 'forbidden';
  return 'allowed';
}

/** The 403 message of a refused caller. */
export function forbiddenReason(route: RouteAccess, caller: Caller): string {
  const roles = route.roles ?? [];
  if (roles.length && !roles.some((r) => caller.roles.includes(r))) {
    return `Requires one of the roles: ${['admin', ...roles.filter((r) => r !== 'admin')].join(', ')}`;
  }
  return 'Requires admin, or a token without a projects restriction: this changes what every project of the tenant uses';
}

const YES = '✓';
const NO = '—';

/** One cell of the matrix: may `role` (with an unrestricted token) call the route? */
function cell(route: RouteAccess, role: Role): string {
  if (route.public) return YES;
  if (accessVerdict(route, { roles: [role] }) !== 'allowed') return NO;
  if (role !== 'admin' && route.tenantWide) return `${YES} without \`projects\``;
  return YES;
}

function restrictedCell(route: RouteAccess): string {
  if (route.public) return 'no token needed';
  if (route.tenantWide) return '403 unless admin';
  return 'as the role; other projects 404';
}

/**
 * The README's role matrix: one row per route in the given order, a column per role, and what a
 * token restricted to some `projects` may do.
 */
export function renderRoleMatrix(routes: readonly RouteAccess[]): string {
  const header = ['route', ...ROLES.map((r) => `\`${r}\``), 'token with `projects`'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const route of routes) {
    const who = ROLES.map((role) => cell(route, role));
    lines.push(`| \`${route.method.toUpperCase()} ${route.path}\` | ${who.join(' | ')} | ${restrictedCell(route)} |`);
  }
  return lines.join('\n');
}

const METHOD_ORDER = ['get', 'post', 'put', 'patch', 'delete'];

/** Routes grouped by path (operations first, then /api/v1 alphabetically), GET before POST. */
export function sortRoutes(routes: readonly RouteAccess[]): RouteAccess[] {
  const key = (r: RouteAccess) => `${r.path.startsWith('/api/') ? 1 : 0} ${r.path}`;
  return [...routes].sort((a, b) => key(a).localeCompare(key(b)) || METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method));
}
