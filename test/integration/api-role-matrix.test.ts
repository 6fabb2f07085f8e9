import crypto from 'node:crypto';
import { accessVerdict, type Caller, type RouteAccess } from '../../src/api/access';
import { API_PREFIX, ROUTE_ACCESS } from '../../src/api/openapi';
import { createApiRouter } from '../../src/api/router';
import { ROLES } from '../../src/auth/jwt';
import { TestApi, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { sampleRequest, type OpenApiDoc } from '../helpers/openapi-sample';

/**
 * Route by route, role by role: every operation of GET /openapi.json (so a new route is covered
 * the day it is defined) is called with no token, with each role, and with tokens restricted to
 * a project; whoever the route's definition refuses gets 401/403, whoever it allows gets past the
 * role check (a 404 for a random id, a 422 for a refined body are fine) and never a 500. The
 * Temporal client points at a closed port: routes that reach it answer 503.
 */
jest.setTimeout(60_000);

let tdb: TestDatabase;
let api: TestApi;
let doc: OpenApiDoc;
const tenant = `tr-${crypto.randomBytes(3).toString('hex')}`;

interface Principal {
  name: string;
  caller?: Caller;
}
const PRINCIPALS: Principal[] = [
  { name: 'no token' },
  ...ROLES.map((role) => ({ name: role, caller: { roles: [role] } })),
  { name: 'manager restricted to a project', caller: { roles: ['manager'], projects: [crypto.randomUUID()] } },
  { name: 'admin restricted to a project', caller: { roles: ['admin'], projects: [crypto.randomUUID()] } },
  { name: 'annotator and reviewer', caller: { roles: ['annotator', 'reviewer'] } },
];

beforeAll(async () => {
  tdb = await createTestDatabase();
  api = await startTestApi({ db: tdb.db });
  doc = (await (await api.request('/openapi.json')).json()) as OpenApiDoc;
});
afterAll(async () => {
  await api?.close();
  await tdb?.drop();
});

const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

function documentedOperations(): string[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => key(m, path)));
}

it('the OpenAPI document, the access rules and the mounted router list the same routes', () => {
  const documented = documentedOperations().sort();
  expect(documented.length).toBeGreaterThanOrEqual(50);
  expect(ROUTE_ACCESS.map((r) => key(r.method, r.path)).sort()).toEqual(documented);
  // Every route the router mounts under /api/v1 is documented (HEAD rides along with GET).
  const mounted = createApiRouter()
    .stack.flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((m) => key(m, String(layer.path).replace(/:([A-Za-z0-9_]+)/g, '{$1}'))))
    .sort();
  expect(mounted).toEqual(documented.filter((op) => op.split(' ')[1].startsWith(`${API_PREFIX}/`)));
});

it('every route answers each principal as its definition says: 401 without a token, 403 for a refused role, neither for an allowed one', async () => {
  const byKey = new Map<string, RouteAccess>(ROUTE_ACCESS.map((r) => [key(r.method, r.path), r]));
  const cases = documentedOperations().flatMap((op) => PRINCIPALS.map((p) => ({ op, principal: p, access: byKey.get(op)! })));
  const failures: string[] = [];
  const tally: Record<string, number> = {};
  const started = Date.now();
  await mapLimit(cases, 8, async ({ op, principal, access }) => {
    const [method, path] = op.split(' ');
    const sample = sampleRequest(doc, path, method.toLowerCase());
    const token = principal.caller && tokenFor({ tenantId: tenant, sub: `u-${principal.name.replace(/\W+/g, '-')}`, roles: [...principal.caller.roles], projects: principal.caller.projects?.slice() });
    const res = await api.request(sample.url, { method: sample.method, token, ...(sample.body !== undefined ? { json: sample.body } : {}) });
    const text = await res.text();
    const verdict = accessVerdict(access, principal.caller);
    tally[`${verdict} → ${res.status}`] = (tally[`${verdict} → ${res.status}`] ?? 0) + 1;
    const ok =
      verdict === 'unauthenticated' ? res.status === 401 : verdict === 'forbidden' ? res.status === 403 : ![401, 403].includes(res.status) && (res.status < 500 || res.status === 503);
    if (!ok) failures.push(`${op} as ${principal.name}: expected ${verdict}, got ${res.status}`);
    // A refusal is in the documented error shape.
    const code = { 401: 'UNAUTHORIZED', 403: 'FORBIDDEN' }[res.status as 401 | 403];
    if (code && verdict !== 'allowed' && errorCode(text) !== code) failures.push(`${op} as ${principal.name}: ${res.status} without error code ${code}: ${text.slice(0, 200)}`);
  });
  console.log(`role matrix: ${cases.length} requests over ${cases.length / PRINCIPALS.length} routes × ${PRINCIPALS.length} principals in ${Date.now() - started} ms; ${JSON.stringify(tally)}`);
  expect(failures).toEqual([]);
  // The test saw every verdict, so it is not passing vacuously.
  for (const verdict of ['allowed', 'unauthenticated', 'forbidden']) expect(Object.keys(tally).some((k) => k.startsWith(verdict))).toBe(true);
});

function errorCode(text: string): string | undefined {
  try {
    return (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}
