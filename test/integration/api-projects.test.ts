import crypto from 'node:crypto';
import { TestApi, errorOf, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';

let tdb: TestDatabase;
let api: TestApi;
const tenantA = `ta-${crypto.randomBytes(3).toString('hex')}`;
const tenantB = `tb-${crypto.randomBytes(3).toString('hex')}`;
const managerA = tokenFor({ tenantId: tenantA, sub: 'manager-a', roles: ['manager'] });
const viewerA = tokenFor({ tenantId: tenantA, sub: 'viewer-a', roles: ['viewer'] });
const adminB = tokenFor({ tenantId: tenantB, sub: 'admin-b', roles: ['admin'] });

const sentiment = { type: 'single_label', labels: ['positive', 'negative', 'neutral'] };

beforeAll(async () => {
  tdb = await createTestDatabase();
  api = await startTestApi({ db: tdb.db });
});
afterAll(async () => {
  await api?.close();
  await tdb?.drop();
});

async function createProject(token: string, body: Record<string, unknown> = {}) {
  const res = await api.request('/api/v1/projects', { method: 'POST', token, json: { name: 'Sentiment', label_schema: sentiment, ...body } });
  return { res, body: (await res.json()) as any };
}

describe('projects', () => {
  it('creates a project with routing defaults, its tenant, and an audit entry', async () => {
    const { res, body } = await createProject(managerA, { guidelines: 'Label the overall tone.' });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/projects/${body.id}`);
    expect(body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Sentiment',
      label_schema: sentiment,
      guidelines: 'Label the overall tone.',
      routing: {
        high_confidence_threshold: 0.85,
        low_confidence_threshold: 0.5,
        default_engine_id: null,
        fallback_engine_ids: [],
        review_strategy: 'least_loaded',
        annotators_per_item: 1,
        default_mode: 'sync',
      },
      created_by: 'manager-a',
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const row = await tdb.db('projects').where({ id: body.id }).first();
    expect(row).toMatchObject({ tenant_id: tenantA, name: 'Sentiment', created_by: 'manager-a' });
    expect(row.routing).toEqual(body.routing);
    expect(await tdb.db('tenants').where({ id: tenantA }).first()).toBeTruthy();
    const audit = await tdb.db('audit_log').where({ entity_type: 'project', entity_id: body.id });
    expect(audit).toEqual([expect.objectContaining({ tenant_id: tenantA, actor: 'manager-a', action: 'project.created', project_id: body.id })]);
  });

  it('keeps the routing fields given and checks engines exist', async () => {
    const { res, body } = await createProject(managerA, {
      routing: { high_confidence_threshold: 0.9, default_engine_id: '00000000-0000-4000-8000-000000000001', annotators_per_item: 2 },
    });
    expect(res.status).toBe(201);
    expect(body.routing).toMatchObject({ high_confidence_threshold: 0.9, low_confidence_threshold: 0.5, default_engine_id: '00000000-0000-4000-8000-000000000001', annotators_per_item: 2 });

    const missing = await createProject(managerA, { routing: { fallback_engine_ids: [crypto.randomUUID()] } });
    expect(missing.res.status).toBe(422);
    expect(missing.body.error.details).toEqual([{ field: 'routing.fallback_engine_ids.0', message: expect.stringMatching(/not found/) }]);
  });

  it.each([
    ['an unknown label_schema type', { label_schema: { type: 'span', labels: ['a'] } }, 'label_schema.type'],
    ['no labels', { label_schema: { type: 'single_label', labels: [] } }, 'label_schema.labels'],
    ['duplicate labels', { label_schema: { type: 'multi_label', labels: ['a', 'a'] } }, 'label_schema.labels'],
    ['a missing name', { name: undefined }, 'name'],
    ['thresholds out of order', { routing: { high_confidence_threshold: 0.4 } }, 'routing.low_confidence_threshold'],
  ])('rejects %s with 422 naming the field', async (_name, patch, field) => {
    const before = await tdb.db('projects').count({ n: '*' });
    const { res, body } = await createProject(managerA, patch);
    expect(res.status).toBe(422);
    expect(body.error.code).toBe('VALIDATION_ERROR');
    expect(body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await tdb.db('projects').count({ n: '*' })).toEqual(before);
  });

  it('only managers and admins create projects', async () => {
    const { res } = await createProject(viewerA);
    expect(res.status).toBe(403);
    expect((await createProject(adminB)).res.status).toBe(201);
  });

  it('lists the tenant’s projects, paged, and gets one', async () => {
    const tenant = `tl-${crypto.randomBytes(3).toString('hex')}`;
    const mgr = tokenFor({ tenantId: tenant, sub: 'm', roles: ['manager'] });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createProject(mgr, { name: `P${i}` })).body.id);

    const page1 = await api.request('/api/v1/projects?page=1&page_size=2', { token: mgr });
    expect(page1.status).toBe(200);
    const b1 = (await page1.json()) as any;
    expect(b1).toMatchObject({ page: 1, page_size: 2, total: 5 });
    expect(b1.items).toHaveLength(2);
    const page3 = (await (await api.request('/api/v1/projects?page=3&page_size=2', { token: mgr })).json()) as any;
    expect(page3.items).toHaveLength(1);
    const all = (await (await api.request('/api/v1/projects?page_size=500', { token: mgr })).json()) as any;
    expect(all.items.map((p: { id: string }) => p.id).sort()).toEqual([...ids].sort());
    expect(all.page_size).toBe(500);

    const one = await api.request(`/api/v1/projects/${ids[0]}`, { token: tokenFor({ tenantId: tenant, sub: 'v', roles: ['viewer'] }) });
    expect(one.status).toBe(200);
    expect(((await one.json()) as any).id).toBe(ids[0]);
  });

  it('hides another tenant’s project behind a 404, in lists too', async () => {
    const { body: project } = await createProject(managerA, { name: 'Secret' });
    const res = await api.request(`/api/v1/projects/${project.id}`, { token: adminB });
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('NOT_FOUND');
    const list = (await (await api.request('/api/v1/projects?page_size=500', { token: adminB })).json()) as any;
    expect(list.items.map((p: { id: string }) => p.id)).not.toContain(project.id);
    expect(list.items.every((p: { created_by: string }) => p.created_by === 'admin-b')).toBe(true);
  });

  it('restricts a token with a projects claim to those projects', async () => {
    const { body: p1 } = await createProject(managerA, { name: 'Allowed' });
    const { body: p2 } = await createProject(managerA, { name: 'Not allowed' });
    const scoped = tokenFor({ tenantId: tenantA, sub: 'scoped', roles: ['admin'], projects: [p1.id, 'not-a-uuid'] });
    expect((await api.request(`/api/v1/projects/${p1.id}`, { token: scoped })).status).toBe(200);
    expect((await api.request(`/api/v1/projects/${p2.id}`, { token: scoped })).status).toBe(404);
    const list = (await (await api.request('/api/v1/projects', { token: scoped })).json()) as any;
    expect(list.items.map((p: { id: string }) => p.id)).toEqual([p1.id]);
    expect(list.total).toBe(1);
    expect((await api.request(`/api/v1/projects/${p2.id}/items`, { token: scoped })).status).toBe(404);
    expect((await api.request(`/api/v1/projects/${p2.id}/members`, { token: scoped })).status).toBe(404);
  });

  it('422 for an id that is not a UUID and for page=0 / page_size=1000', async () => {
    const bad = await api.request('/api/v1/projects/not-a-uuid', { token: managerA });
    expect(bad.status).toBe(422);
    expect((await errorOf(bad)).details[0].field).toBe('project_id');
    for (const q of ['page=0', 'page_size=1000', 'page_size=0']) {
      const res = await api.request(`/api/v1/projects?${q}`, { token: managerA });
      expect(res.status).toBe(422);
      expect((await errorOf(res)).details[0].field).toBe(q.split('=')[0]);
    }
  });
});

describe('members', () => {
  let projectId: string;
  beforeAll(async () => {
    projectId = (await createProject(managerA, { name: 'Team' })).body.id;
  });

  it('adds members (201), updates a role on repeat (200), and audits both', async () => {
    const add = await api.request(`/api/v1/projects/${projectId}/members`, { method: 'POST', token: managerA, json: { user_id: 'r1', role: 'reviewer' } });
    expect(add.status).toBe(201);
    expect(await add.json()).toEqual({ project_id: projectId, user_id: 'r1', role: 'reviewer', created_at: expect.any(String) });
    const again = await api.request(`/api/v1/projects/${projectId}/members`, { method: 'POST', token: managerA, json: { user_id: 'r1', role: 'manager' } });
    expect(again.status).toBe(200);
    expect(((await again.json()) as any).role).toBe('manager');
    const rows = await tdb.db('project_members').where({ project_id: projectId });
    expect(rows).toEqual([expect.objectContaining({ user_id: 'r1', role: 'manager', tenant_id: tenantA })]);
    const audit = await tdb.db('audit_log').where({ project_id: projectId, entity_type: 'project_member' }).orderBy('id');
    expect(audit.map((a) => a.action)).toEqual(['member.added', 'member.updated']);
  });

  it('lists members paged and filtered by role', async () => {
    for (const [user_id, role] of [['a1', 'annotator'], ['a2', 'annotator'], ['rv', 'reviewer'], ['vw', 'viewer']]) {
      const res = await api.request(`/api/v1/projects/${projectId}/members`, { method: 'POST', token: managerA, json: { user_id, role } });
      expect(res.status).toBe(201);
    }
    const all = (await (await api.request(`/api/v1/projects/${projectId}/members`, { token: viewerA })).json()) as any;
    expect(all.total).toBe(5);
    const annotators = (await (await api.request(`/api/v1/projects/${projectId}/members?role=annotator&page_size=1`, { token: viewerA })).json()) as any;
    expect(annotators).toMatchObject({ total: 2, page: 1, page_size: 1 });
    expect(annotators.items).toHaveLength(1);
    expect(annotators.items[0].role).toBe('annotator');
  });

  it('validates the role, needs a manager, and hides other tenants', async () => {
    const bad = await api.request(`/api/v1/projects/${projectId}/members`, { method: 'POST', token: managerA, json: { user_id: 'x', role: 'admin' } });
    expect(bad.status).toBe(422);
    expect((await errorOf(bad)).details.map((d) => d.field)).toEqual(['role']);
    const viewer = await api.request(`/api/v1/projects/${projectId}/members`, { method: 'POST', token: viewerA, json: { user_id: 'x', role: 'viewer' } });
    expect(viewer.status).toBe(403);
    const other = await api.request(`/api/v1/projects/${projectId}/members`, { method: 'POST', token: adminB, json: { user_id: 'x', role: 'viewer' } });
    expect(other.status).toBe(404);
    expect((await api.request(`/api/v1/projects/${projectId}/members`, { token: adminB })).status).toBe(404);
  });
});
