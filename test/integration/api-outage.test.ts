import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { createDatabase } from '../../src/db/knex';
import { TestApi, errorOf, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { seedItems, seedProject } from '../helpers/seed';
import { TcpProxy, startTcpProxy } from '../helpers/tcp-proxy';

/**
 * Dependencies down: every route answers 503 with Retry-After in the error shape, never a 500.
 * PostgreSQL is taken away by cutting a TCP proxy between the API and it (the shared server is
 * never touched); Temporal is a closed port (the test API's client without a server).
 */
let tdb: TestDatabase;
let proxy: TcpProxy;
let db: Knex;
let api: TestApi;
const tenant = `out-${crypto.randomBytes(3).toString('hex')}`;
const manager = tokenFor({ tenantId: tenant, sub: 'mgr', roles: ['manager'] });
const newProject = { name: 'During the outage', label_schema: { type: 'single_label', labels: ['a', 'b'] } };

beforeAll(async () => {
  tdb = await createTestDatabase();
  const u = new URL(tdb.url);
  proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  db = createDatabase({ databaseUrl: proxy.via(tdb.url), dataDir: '.data', poolMax: 4 });
  api = await startTestApi({ db });
});
afterAll(async () => {
  await api?.close();
  await db?.destroy();
  await proxy?.close();
  await tdb?.drop();
});

async function expectUnavailable(res: Response, dependency: string): Promise<void> {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  const error = await errorOf(res);
  expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/unavailable|try again/) });
  expect(typeof error.correlation_id).toBe('string');
  if (dependency) expect(error.details).toContainEqual({ field: dependency, message: 'unavailable' });
}

test('PostgreSQL cut: an ordinary GET and a write are 503 + Retry-After, fast, and answer again once it is back', async () => {
  const created = await api.request('/api/v1/projects', { method: 'POST', token: manager, json: { ...newProject, name: 'Before' } });
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };

  proxy.cut();
  try {
    const started = Date.now();
    await expectUnavailable(await api.request('/api/v1/projects', { token: manager }), 'database');
    await expectUnavailable(await api.request(`/api/v1/projects/${id}`, { token: manager }), 'database');
    await expectUnavailable(await api.request('/api/v1/projects', { method: 'POST', token: manager, json: newProject }), 'database');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(proxy.refused).toBeGreaterThan(0); // the API did try to reach PostgreSQL, and was refused
  } finally {
    proxy.restore();
  }

  const list = await api.request('/api/v1/projects', { token: manager });
  expect(list.status).toBe(200);
  const names = ((await list.json()) as { items: { name: string }[] }).items.map((p) => p.name);
  expect(names).toEqual(['Before']); // the write refused during the outage left nothing
  expect(Number((await tdb.db('projects').where({ tenant_id: tenant }).count({ n: '*' }))[0].n)).toBe(1);
});

test('connections that die mid-pool (cut after they were opened) are a 503 too, not a 500', async () => {
  // Warm the pool so the cut kills open connections rather than refusing new ones.
  await Promise.all([1, 2, 3].map(() => api.request('/api/v1/projects', { token: manager })));
  proxy.cut();
  try {
    await expectUnavailable(await api.request('/api/v1/projects', { token: manager }), 'database');
  } finally {
    proxy.restore();
  }
  expect((await api.request('/api/v1/projects', { token: manager })).status).toBe(200);
});

test('Temporal unavailable: starting a job is a 503 + Retry-After', async () => {
  const { projectId } = await seedProject(tdb.db, { tenantId: tenant });
  await seedItems(tdb.db, tenant, projectId, ['one', 'two']);
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engineId, tenant_id: tenant, name: 'e', provider: 'openai', model: 'm' });
  const res = await api.request('/api/v1/annotation/pre-annotate', { method: 'POST', token: manager, json: { project_id: projectId, engine_id: engineId } });
  await expectUnavailable(res, '');
});
