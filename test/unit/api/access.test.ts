import fs from 'node:fs';
import path from 'node:path';
import { accessVerdict, forbiddenReason, renderRoleMatrix, sortRoutes, type RouteAccess } from '../../../src/api/access';
import '../../../src/api/app'; // mounts (and so lists) every route
import { ROUTE_ACCESS } from '../../../src/api/openapi';

const route = (over: Partial<RouteAccess> = {}): RouteAccess => ({ method: 'post', path: '/api/v1/things', ...over });

describe('accessVerdict', () => {
  it('lets anyone call a public route, and nobody without a token call another', () => {
    expect(accessVerdict(route({ public: true }), undefined)).toBe('allowed');
    expect(accessVerdict(route(), undefined)).toBe('unauthenticated');
    expect(accessVerdict(route({ roles: ['manager'] }), undefined)).toBe('unauthenticated');
  });

  it('any role passes a route without roles; otherwise one of them, or admin', () => {
    expect(accessVerdict(route(), { roles: ['viewer'] })).toBe('allowed');
    const managers = route({ roles: ['manager'] });
    expect(accessVerdict(managers, { roles: ['manager'] })).toBe('allowed');
    expect(accessVerdict(managers, { roles: ['admin'] })).toBe('allowed');
    expect(accessVerdict(managers, { roles: ['viewer', 'manager'] })).toBe('allowed');
    expect(accessVerdict(managers, { roles: ['annotator', 'reviewer', 'viewer'] })).toBe('forbidden');
    expect(accessVerdict(managers, { roles: [] })).toBe('forbidden');
  });

  it('a tenant-wide change needs admin or a token without a projects restriction', () => {
    const engines = route({ roles: ['manager'], tenantWide: true });
    expect(accessVerdict(engines, { roles: ['manager'] })).toBe('allowed');
    expect(accessVerdict(engines, { roles: ['manager'], projects: ['p1'] })).toBe('forbidden');
    expect(accessVerdict(engines, { roles: ['manager'], projects: [] })).toBe('forbidden');
    expect(accessVerdict(engines, { roles: ['admin'], projects: ['p1'] })).toBe('allowed');
    expect(forbiddenReason(engines, { roles: ['manager'], projects: ['p1'] })).toMatch(/projects restriction/);
    expect(forbiddenReason(engines, { roles: ['viewer'] })).toBe('Requires one of the roles: admin, manager');
    // Project-scoped routes leave a restricted token to the handlers (another project: 404).
    expect(accessVerdict(route({ roles: ['manager'] }), { roles: ['manager'], projects: ['p1'] })).toBe('allowed');
  });
});

describe('the role matrix', () => {
  it('renders a column per role and the projects restriction', () => {
    const text = renderRoleMatrix([
      route({ method: 'get', path: '/health', public: true }),
      route({ roles: ['manager'], tenantWide: true }),
      route({ method: 'get', path: '/api/v1/things' }),
    ]);
    expect(text.split('\n')).toEqual([
      '| route | `admin` | `manager` | `annotator` | `reviewer` | `viewer` | token with `projects` |',
      '|---|---|---|---|---|---|---|',
      '| `GET /health` | ✓ | ✓ | ✓ | ✓ | ✓ | no token needed |',
      '| `POST /api/v1/things` | ✓ | ✓ without `projects` | — | — | — | 403 unless admin |',
      '| `GET /api/v1/things` | ✓ | ✓ | ✓ | ✓ | ✓ | as the role; other projects 404 |',
    ]);
  });

  it('in README.md is the one rendered from the route definitions (UPDATE_ROLE_MATRIX=1 rewrites it)', () => {
    const readmePath = path.resolve(__dirname, '../../../README.md');
    const readme = fs.readFileSync(readmePath, 'utf8');
    const begin = '<!-- role-matrix:begin (generated from defineRoute; see test/unit/api/access.test.ts) -->\n';
    const end = '\n<!-- role-matrix:end -->';
    const expected = renderRoleMatrix(sortRoutes(ROUTE_ACCESS));
    const start = readme.indexOf(begin);
    const stop = readme.indexOf(end);
    if (process.env.UPDATE_ROLE_MATRIX === '1' && start >= 0 && stop > start) {
      fs.writeFileSync(readmePath, readme.slice(0, start + begin.length) + expected + readme.slice(stop));
      return;
    }
    expect(start).toBeGreaterThanOrEqual(0);
    expect(readme.slice(start + begin.length, stop)).toBe(expected);
    // Every documented route has a row.
    expect(ROUTE_ACCESS.length).toBeGreaterThanOrEqual(50);
    for (const r of ROUTE_ACCESS) expect(expected).toContain(`\`${r.method.toUpperCase()} ${r.path}\``);
  });
});
