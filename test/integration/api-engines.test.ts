import crypto from 'node:crypto';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../src/llm/builtin-engines';
import { TestApi, errorOf, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai';
import { sentimentTexts } from '../helpers/seed';

let tdb: TestDatabase;
let api: TestApi;
let fake: FakeOpenAI;
const tenantA = `ta-${crypto.randomBytes(3).toString('hex')}`;
const tenantB = `tb-${crypto.randomBytes(3).toString('hex')}`;
const managerA = tokenFor({ tenantId: tenantA, sub: 'manager-a', roles: ['manager'] });
const annotatorA = tokenFor({ tenantId: tenantA, sub: 'annotator-a', roles: ['annotator'] });
const managerB = tokenFor({ tenantId: tenantB, sub: 'manager-b', roles: ['manager'] });
const SECRET = 'sk-very-secret-key-value-123';

beforeAll(async () => {
  process.env.ANNO_ENGINES_TEST_KEY = SECRET;
  [tdb, fake] = await Promise.all([createTestDatabase(), startFakeOpenAI()]);
  // One fake server, behaviour by model: 'contrarian' always answers negative, 'broken' fails.
  fake.setFault((r) => (r.model === 'contrarian' ? { label: 'negative', confidence: 0.7 } : r.model === 'broken' ? { status: 500 } : null));
  api = await startTestApi({ db: tdb.db });
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
  await tdb?.drop();
});

const post = (path: string, token: string, json: unknown) => api.request(`/api/v1${path}`, { method: 'POST', token, json });
const put = (path: string, token: string, json: unknown) => api.request(`/api/v1${path}`, { method: 'PUT', token, json });
const get = (path: string, token: string) => api.request(`/api/v1${path}`, { token });

async function createEngine(token: string, body: Record<string, unknown> = {}) {
  const res = await post('/annotation/engines', token, {
    name: `engine-${crypto.randomBytes(3).toString('hex')}`,
    provider: 'openai',
    model: 'good-model',
    base_url: fake.baseUrl,
    api_key_env: 'ANNO_ENGINES_TEST_KEY',
    price: { input_per_1k: '0.0015', output_per_1k: 0.002 },
    rate_limit: { rpm: 600 },
    ...body,
  });
  const text = await res.text();
  return { res, text, body: JSON.parse(text) as any };
}

describe('engines registry', () => {
  it('registers an engine, never echoing a key, with an audit entry', async () => {
    const { res, text, body } = await createEngine(managerA, { name: 'gpt-good', params: { temperature: 0, max_tokens: 20 } });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/annotation/engines/${body.id}`);
    expect(text).not.toContain(SECRET);
    expect(body).toMatchObject({
      name: 'gpt-good',
      provider: 'openai',
      model: 'good-model',
      base_url: fake.baseUrl,
      api_key_env: 'ANNO_ENGINES_TEST_KEY',
      params: { temperature: 0, max_tokens: 20 },
      price: { input_per_1k: '0.0015', output_per_1k: '0.002' },
      rate_limit: { rpm: 600 },
      fallback_engine_ids: [],
      enabled: true,
      built_in: false,
      health: { status: 'healthy', circuit: 'closed', retry_in_ms: 0 },
      usage: { calls: 0, errors: 0, cost_usd: '0', cache_hits: 0, mean_latency_ms: null },
    });
    const row = await tdb.db('engines').where({ id: body.id }).first();
    expect(row).toMatchObject({ tenant_id: tenantA, api_key_env: 'ANNO_ENGINES_TEST_KEY' });
    expect(JSON.stringify(row)).not.toContain(SECRET);
    const audit = await tdb.db('audit_log').where({ entity_type: 'engine', entity_id: body.id });
    expect(audit).toEqual([expect.objectContaining({ action: 'engine.created', actor: 'manager-a', tenant_id: tenantA })]);
  });

  it.each([
    ['a key instead of an env name', { api_key_env: SECRET }, 'api_key_env'],
    ['a lower-case env name', { api_key_env: 'openai_key' }, 'api_key_env'],
    ['an unknown provider', { provider: 'cohere' }, 'provider'],
    ['a negative price', { price: { input_per_1k: -1, output_per_1k: 0 } }, 'price.input_per_1k'],
    ['a non-decimal price', { price: { input_per_1k: '1e-3', output_per_1k: '0' } }, 'price.input_per_1k'],
    ['a zero rpm', { rate_limit: { rpm: 0 } }, 'rate_limit.rpm'],
    ['an empty rate limit', { rate_limit: {} }, 'rate_limit'],
    ['a secret in params', { params: { api_key: SECRET } }, 'params.api_key'],
    ['a bad timeout', { params: { timeout_ms: 5 } }, 'params.timeout_ms'],
    ['an unknown fallback', { fallback_engine_ids: [crypto.randomUUID()] }, 'fallback_engine_ids.0'],
  ])('rejects %s with 422 naming the field', async (_n, patch, field) => {
    const { res, body, text } = await createEngine(managerA, patch);
    expect(res.status).toBe(422);
    expect(body.error.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(text).not.toContain(SECRET);
  });

  it('requires the manager role to register', async () => {
    const { res } = await createEngine(annotatorA);
    expect(res.status).toBe(403);
  });

  it('rejects a duplicate name with 409', async () => {
    await createEngine(managerA, { name: 'dup-name' });
    const { res } = await createEngine(managerA, { name: 'dup-name' });
    expect(res.status).toBe(409);
  });

  it('keeps engines of another tenant invisible: absent from lists, 404 by id, unusable as fallback', async () => {
    const { body: other } = await createEngine(managerB, { name: 'b-private' });
    const { body: mine } = await createEngine(managerA, { name: 'a-private' });

    const listA = (await (await get('/annotation/engines?page_size=500', managerA)).json()) as any;
    const idsA = listA.items.map((e: any) => e.id);
    expect(idsA).toContain(mine.id);
    expect(idsA).toContain(BUILTIN_LOCAL_ENGINE_ID);
    expect(idsA).not.toContain(other.id);
    expect(listA.items[0]).toMatchObject({ built_in: true });
    expect(listA.total).toBe(listA.items.length);

    expect((await get(`/annotation/engines/${other.id}`, managerA)).status).toBe(404);
    expect((await put(`/annotation/engines/${other.id}`, managerA, { model: 'x' })).status).toBe(404);
    expect((await post(`/annotation/engines/${other.id}/health`, managerA, {})).status).toBe(404);
    const fb = await createEngine(managerA, { fallback_engine_ids: [other.id] });
    expect(fb.res.status).toBe(422);
    expect(fb.body.error.details).toEqual([{ field: 'fallback_engine_ids.0', message: expect.stringMatching(/not found/) }]);
    // Built-ins are visible to every tenant and usable as fallbacks.
    const withBuiltin = await createEngine(managerA, { fallback_engine_ids: [BUILTIN_LOCAL_ENGINE_ID] });
    expect(withBuiltin.res.status).toBe(201);
  });

  it('updates the fields given; built-ins are read-only (403); no self-fallback', async () => {
    const { body: e } = await createEngine(managerA);
    const res = await put(`/annotation/engines/${e.id}`, managerA, { model: 'good-model-2', price: { input_per_1k: '0.5', output_per_1k: '1.25' }, fallback_engine_ids: [BUILTIN_LOCAL_ENGINE_ID] });
    expect(res.status).toBe(200);
    const updated = (await res.json()) as any;
    expect(updated).toMatchObject({ id: e.id, name: e.name, model: 'good-model-2', price: { input_per_1k: '0.5', output_per_1k: '1.25' }, fallback_engine_ids: [BUILTIN_LOCAL_ENGINE_ID], rate_limit: { rpm: 600 } });

    const self = await put(`/annotation/engines/${e.id}`, managerA, { fallback_engine_ids: [e.id] });
    expect(self.status).toBe(422);
    expect((await errorOf(self)).details).toEqual([{ field: 'fallback_engine_ids.0', message: expect.stringMatching(/itself/) }]);

    const builtin = await put(`/annotation/engines/${BUILTIN_LOCAL_ENGINE_ID}`, managerA, { model: 'hacked' });
    expect(builtin.status).toBe(403);
    expect((await tdb.db('engines').where({ id: BUILTIN_LOCAL_ENGINE_ID }).first()).model).toBe('naive-bayes-v1');

    expect((await put(`/annotation/engines/${e.id}`, managerA, {})).status).toBe(422);
    expect((await put(`/annotation/engines/${e.id}`, annotatorA, { model: 'x' })).status).toBe(403);
  });
});

describe('engine health', () => {
  it('is healthy after a real call, down when the provider fails, degraded when slow', async () => {
    const { body: good } = await createEngine(managerA);
    const { body: broken } = await createEngine(managerA, { model: 'broken' });
    const before = fake.requestCount;

    const ok = await post(`/annotation/engines/${good.id}/health`, managerA, {});
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ engine_id: good.id, status: 'healthy', latency_ms: expect.any(Number), circuit: 'closed', checked_at: expect.any(String) });
    // A real call each time: the cache is bypassed.
    expect((await post(`/annotation/engines/${good.id}/health`, managerA, {})).status).toBe(200);
    expect(fake.requestCount).toBe(before + 2);
    expect(fake.requests[fake.requests.length - 1].lastUserText).toBe('ping');

    const down = (await (await post(`/annotation/engines/${broken.id}/health`, managerA, {})).json()) as any;
    expect(down).toMatchObject({ status: 'down', error: expect.stringMatching(/http 500/) });

    fake.setLatency(60);
    try {
      const slow = (await (await post(`/annotation/engines/${good.id}/health`, managerA, { slow_ms: 20 })).json()) as any;
      expect(slow).toMatchObject({ status: 'degraded' });
      expect(slow.latency_ms).toBeGreaterThanOrEqual(50);
    } finally {
      fake.setLatency(0);
    }

    // Unreachable: nothing listens on port 1.
    const { body: gone } = await createEngine(managerA, { base_url: 'http://127.0.0.1:1/v1' });
    const unreachable = (await (await post(`/annotation/engines/${gone.id}/health`, managerA, {})).json()) as any;
    expect(unreachable).toMatchObject({ status: 'down', error: expect.stringMatching(/connection/i) });

    // Probes are in the ledger, and GET shows the usage.
    const listed = (await (await get(`/annotation/engines/${good.id}`, managerA)).json()) as any;
    expect(listed.usage).toMatchObject({ calls: 3, errors: 0, cache_hits: 0 });
    expect(listed.usage.tokens).toBeGreaterThan(0);
    const sum = await tdb.db('llm_usage').where({ engine_id: good.id }).sum({ s: 'cost_usd' }).first();
    expect(Number(listed.usage.cost_usd)).toBeCloseTo(Number(sum!.s), 12);
    const brokenListed = (await (await get(`/annotation/engines/${broken.id}`, managerA)).json()) as any;
    expect(brokenListed.usage).toMatchObject({ calls: 1, errors: 1 });
    // Another tenant sees none of tenant A's usage of a built-in.
    const local = (await (await post(`/annotation/engines/${BUILTIN_LOCAL_ENGINE_ID}/health`, managerA, {})).json()) as any;
    expect(local.status).toBe('healthy');
    const bLocal = (await (await get(`/annotation/engines/${BUILTIN_LOCAL_ENGINE_ID}`, managerB)).json()) as any;
    expect(bLocal.usage.calls).toBe(0);
  });

  it('reports an open circuit as down in the list', async () => {
    const { body: e } = await createEngine(managerA);
    for (let i = 0; i < api.deps.switcher!.circuitBreaker.failureThreshold; i++) api.deps.switcher!.circuitBreaker.onFailure(e.id);
    const listed = (await (await get(`/annotation/engines/${e.id}`, managerA)).json()) as any;
    expect(listed.health).toMatchObject({ status: 'down', circuit: 'open' });
    // A probe still reaches it (it answers), but the switcher would refuse it: degraded.
    const probe = (await (await post(`/annotation/engines/${e.id}/health`, managerA, {})).json()) as any;
    expect(probe).toMatchObject({ status: 'degraded', circuit: 'open' });
    api.deps.switcher!.circuitBreaker.onSuccess(e.id);
  });
});

describe('engine compare', () => {
  it('scores two engines on a small gold set: accuracy, latency, exact cost, agreement', async () => {
    const p = await post('/projects', managerA, { name: 'Compare', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } });
    const project = (await p.json()) as any;
    const texts = sentimentTexts(6);
    const labels = ['positive', 'negative', 'neutral'];
    const imp = await post(`/projects/${project.id}/items`, managerA, {
      items: [...texts.map((text, i) => ({ data: { text }, gold_label: { label: labels[i % 3] } })), { data: { text: 'no gold here' } }],
    });
    const { item_ids } = (await imp.json()) as any;
    const { body: good } = await createEngine(managerA, { name: 'cmp-good' });
    const { body: contrarian } = await createEngine(managerA, { name: 'cmp-contrarian', model: 'contrarian' });

    const res = await post('/annotation/engines/compare', managerA, { project_id: project.id, engine_ids: [good.id, contrarian.id], item_ids });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ project_id: project.id, items: 6, skipped_item_ids: [item_ids[6]] });
    const [g, c] = body.engines;
    expect(g).toMatchObject({ engine_id: good.id, answered: 6, failed: 0, correct: 6, accuracy: 1 });
    expect(c).toMatchObject({ engine_id: contrarian.id, answered: 6, correct: 2, accuracy: 0.3333 });
    expect(g.latency_ms.p50).toEqual(expect.any(Number));
    expect(g.latency_ms.mean).toEqual(expect.any(Number));
    for (const e of body.engines) {
      const ledger = await tdb.db('llm_usage').where({ job_id: body.compare_id, engine_id: e.engine_id }).select(tdb.db.raw('sum(cost_usd)::text AS s, count(*)::int AS n')).first();
      expect(ledger.n).toBe(6);
      expect(Number(e.cost_usd)).toBeGreaterThan(0);
      expect(Number(e.cost_usd)).toBe(Number(ledger.s));
    }
    expect(body.agreement).toEqual([{ engine_a: good.id, engine_b: contrarian.id, n: 6, percent_agreement: 0.3333, cohen_kappa: expect.any(Number) }]);

    // sample_size: the newest labelled items; validation.
    const sampled = (await (await post('/annotation/engines/compare', managerA, { project_id: project.id, engine_ids: [good.id, BUILTIN_LOCAL_ENGINE_ID], sample_size: 3 })).json()) as any;
    expect(sampled.items).toBe(3);
    expect((await post('/annotation/engines/compare', managerA, { project_id: project.id, engine_ids: [good.id] })).status).toBe(422);
    expect((await post('/annotation/engines/compare', managerA, { project_id: project.id, engine_ids: [good.id, crypto.randomUUID()] })).status).toBe(422);
    expect((await post('/annotation/engines/compare', managerB, { project_id: project.id, engine_ids: [good.id, contrarian.id] })).status).toBe(404);
  });
});
