import crypto from 'node:crypto';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../src/llm/builtin-engines';
import { TestApi, errorOf, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';

let tdb: TestDatabase;
let api: TestApi;
const tenantA = `ta-${crypto.randomBytes(3).toString('hex')}`;
const tenantB = `tb-${crypto.randomBytes(3).toString('hex')}`;
const managerA = tokenFor({ tenantId: tenantA, sub: 'manager-a', roles: ['manager'] });
const annotatorA = tokenFor({ tenantId: tenantA, sub: 'annotator-a', roles: ['annotator'] });
const managerB = tokenFor({ tenantId: tenantB, sub: 'manager-b', roles: ['manager'] });
let projectId: string;
let engineA: string;
let engineB: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  api = await startTestApi({ db: tdb.db });
  const p = await api.request('/api/v1/projects', { method: 'POST', token: managerA, json: { name: 'R', label_schema: { type: 'single_label', labels: ['a', 'b'] } } });
  projectId = ((await p.json()) as any).id;
  const mk = async (token: string) =>
    ((await (await api.request('/api/v1/annotation/engines', { method: 'POST', token, json: { name: `e-${crypto.randomBytes(3).toString('hex')}`, provider: 'local', model: 'nb' } })).json()) as any).id;
  engineA = await mk(managerA);
  engineB = await mk(managerB);
});
afterAll(async () => {
  await api?.close();
  await tdb?.drop();
});

const getConfig = (token: string, id = projectId) => api.request(`/api/v1/annotation/routing/config?project_id=${id}`, { token });
const putConfig = (token: string, json: Record<string, unknown>) =>
  api.request('/api/v1/annotation/routing/config', { method: 'PUT', token, json: { project_id: projectId, ...json } });

describe('routing config', () => {
  it('reads the project routing with defaults', async () => {
    const res = await getConfig(annotatorA);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      project_id: projectId,
      high_confidence_threshold: 0.85,
      low_confidence_threshold: 0.5,
      default_engine_id: null,
      fallback_engine_ids: [],
      review_strategy: 'least_loaded',
      annotators_per_item: 1,
      default_mode: 'sync',
      updated_at: expect.any(String),
    });
    expect((await api.request('/api/v1/annotation/routing/config', { token: managerA })).status).toBe(422);
  });

  it('updates the fields given, keeps the rest, stores them on the project and audits', async () => {
    const res = await putConfig(managerA, {
      high_confidence_threshold: 0.9,
      low_confidence_threshold: 0.6,
      default_engine_id: engineA,
      fallback_engine_ids: [BUILTIN_LOCAL_ENGINE_ID],
      review_strategy: 'round_robin',
      annotators_per_item: 2,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ high_confidence_threshold: 0.9, low_confidence_threshold: 0.6, default_engine_id: engineA, fallback_engine_ids: [BUILTIN_LOCAL_ENGINE_ID], review_strategy: 'round_robin', annotators_per_item: 2 });

    const partial = (await (await putConfig(managerA, { annotators_per_item: 3 })).json()) as any;
    expect(partial).toMatchObject({ high_confidence_threshold: 0.9, default_engine_id: engineA, annotators_per_item: 3 });
    const row = await tdb.db('projects').where({ id: projectId }).first();
    expect(row.routing).toMatchObject({ high_confidence_threshold: 0.9, low_confidence_threshold: 0.6, annotators_per_item: 3, default_engine_id: engineA });
    // The project API shows the same routing.
    const project = (await (await api.request(`/api/v1/projects/${projectId}`, { token: managerA })).json()) as any;
    expect(project.routing).toMatchObject({ annotators_per_item: 3, review_strategy: 'round_robin' });
    const audit = await tdb.db('audit_log').where({ action: 'routing.updated', project_id: projectId }).orderBy('id');
    expect(audit).toHaveLength(2);
    expect(audit[1].details).toMatchObject({ before: { annotators_per_item: 2 }, after: { annotators_per_item: 3 }, fields: ['annotators_per_item'] });
    // null default engine: back to the built-in default.
    expect(((await (await putConfig(managerA, { default_engine_id: null })).json()) as any).default_engine_id).toBeNull();
  });

  it.each([
    ['low ≥ high in the body', { low_confidence_threshold: 0.8, high_confidence_threshold: 0.8 }, ['low_confidence_threshold']],
    ['low ≥ the stored high', { low_confidence_threshold: 0.95 }, ['low_confidence_threshold', 'high_confidence_threshold']],
    ['high ≤ the stored low', { high_confidence_threshold: 0.1 }, ['low_confidence_threshold', 'high_confidence_threshold']],
    ['a threshold above 1', { high_confidence_threshold: 1.5 }, ['high_confidence_threshold']],
    ['a negative threshold', { low_confidence_threshold: -0.1 }, ['low_confidence_threshold']],
    ['an unknown default engine', { default_engine_id: crypto.randomUUID() }, ['default_engine_id']],
    ['another tenant’s engine', { fallback_engine_ids: [BUILTIN_LOCAL_ENGINE_ID, 'ENGINE_B'] }, ['fallback_engine_ids.1']],
    ['an unknown review strategy', { review_strategy: 'random' }, ['review_strategy']],
    ['zero annotators', { annotators_per_item: 0 }, ['annotators_per_item']],
    ['an unknown field', { colour: 'red' }, ['body']],
  ])('rejects %s with 422 naming the fields, changing nothing', async (_n, patch, fields) => {
    const resolved = JSON.parse(JSON.stringify(patch).replace('ENGINE_B', engineB));
    const before = (await tdb.db('projects').where({ id: projectId }).first()).routing;
    const res = await putConfig(managerA, resolved);
    expect(res.status).toBe(422);
    const err = await errorOf(res);
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.details.map((d) => d.field).sort()).toEqual([...fields].sort());
    expect((await tdb.db('projects').where({ id: projectId }).first()).routing).toEqual(before);
  });

  it('needs the manager role to change, and hides other tenants’ projects', async () => {
    expect((await putConfig(annotatorA, { annotators_per_item: 2 })).status).toBe(403);
    expect((await getConfig(managerB)).status).toBe(404);
    const res = await api.request('/api/v1/annotation/routing/config', { method: 'PUT', token: managerB, json: { project_id: projectId, annotators_per_item: 2 } });
    expect(res.status).toBe(404);
  });
});

describe('OpenAPI', () => {
  it('documents the engines, routing, suggestion, feedback, history and AI metrics routes', async () => {
    const doc = (await (await api.request('/openapi.json')).json()) as any;
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops).toEqual(
      expect.arrayContaining([
        'GET /api/v1/annotation/engines',
        'POST /api/v1/annotation/engines',
        'GET /api/v1/annotation/engines/{engine_id}',
        'PUT /api/v1/annotation/engines/{engine_id}',
        'POST /api/v1/annotation/engines/{engine_id}/health',
        'POST /api/v1/annotation/engines/compare',
        'GET /api/v1/annotation/routing/config',
        'PUT /api/v1/annotation/routing/config',
        'POST /api/v1/annotation/suggestion',
        'POST /api/v1/annotation/feedback',
        'GET /api/v1/annotation/suggestions/history',
        'GET /api/v1/annotation/metrics',
      ]),
    );
    expect(doc.paths['/api/v1/annotation/engines/{engine_id}'].put.responses['403']).toBeDefined();
    expect(doc.components.schemas.CreateEngine.properties.api_key_env.pattern).toBe('^[A-Z_][A-Z0-9_]*$');
  });
});
