import crypto from 'node:crypto';
import { TestApi, errorOf, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai';

/**
 * Issue 10 point 2: GET /metrics named every tenant's engines to anyone. Now its series carry
 * engine ids and route templates only, and METRICS_TOKEN closes it to everyone else.
 */
let tdb: TestDatabase;
let guarded: TestApi;
let open: TestApi;
let fake: FakeOpenAI;
const METRICS_TOKEN = `scrape-${crypto.randomBytes(12).toString('hex')}`;
const tenant = `tm-${crypto.randomBytes(3).toString('hex')}`;
const manager = tokenFor({ tenantId: tenant, sub: 'manager-m', roles: ['manager'] });
const admin = tokenFor({ tenantId: tenant, sub: 'admin-m', roles: ['admin'] });
// Tenant-chosen text that must never reach a label.
const secretName = `zebra-confidential-${crypto.randomBytes(4).toString('hex')}`;
const secretModel = `okapi-model-${crypto.randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  [tdb, fake] = await Promise.all([createTestDatabase(), startFakeOpenAI()]);
  [guarded, open] = await Promise.all([startTestApi({ db: tdb.db, env: { METRICS_TOKEN } }), startTestApi({ db: tdb.db })]);
});
afterAll(async () => {
  await Promise.all([guarded?.close(), open?.close()]);
  await fake?.close();
  await tdb?.drop();
});

const scrape = (api: TestApi, authorization?: string) =>
  api.request('/metrics', authorization === undefined ? {} : { headers: { Authorization: authorization } });

describe('METRICS_TOKEN on the API', () => {
  it('answers 401 in the error shape, with a Bearer challenge, without the token', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', `Bearer ${METRICS_TOKEN}x`, `Basic ${METRICS_TOKEN}`, `Bearer ${admin}`]) {
      const res = await scrape(guarded, authorization);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      const error = await errorOf(res);
      expect(error).toMatchObject({ code: 'UNAUTHORIZED', details: [], correlation_id: expect.any(String), timestamp: expect.any(String) });
      expect(error.message).toContain('METRICS_TOKEN');
    }
  });

  it('serves the exposition with the token, and stays open when METRICS_TOKEN is unset', async () => {
    const ok = await scrape(guarded, `Bearer ${METRICS_TOKEN}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('# TYPE anno_llm_calls_total counter');
    const unguarded = await scrape(open);
    expect(unguarded.status).toBe(200);
    expect(await unguarded.text()).toContain('# TYPE http_request_duration_seconds histogram');
  });

  it('documents the 401 of GET /metrics', async () => {
    const doc = (await (await open.request('/openapi.json')).json()) as any;
    expect(Object.keys(doc.paths['/metrics'].get.responses)).toEqual(expect.arrayContaining(['200', '401']));
    expect(doc.paths['/metrics'].get.description).toContain('METRICS_TOKEN');
  });
});

describe('labels carry no tenant data', () => {
  it('after LLM calls through an engine with a distinctive name, the series name only its id and provider', async () => {
    const created = await guarded.request('/api/v1/annotation/engines', {
      method: 'POST',
      token: manager,
      json: { name: secretName, provider: 'openai', model: secretModel, base_url: fake.baseUrl, price: { input_per_1k: '0.01', output_per_1k: '0.02' } },
    });
    expect(created.status).toBe(201);
    const engineId = ((await created.json()) as { id: string }).id;
    const project = await guarded.request('/api/v1/projects', {
      method: 'POST',
      token: manager,
      json: { name: `project-${secretName}`, label_schema: { type: 'single_label', labels: ['positive', 'negative'] } },
    });
    expect(project.status).toBe(201);
    const projectId = ((await project.json()) as { id: string }).id;

    const probe = await guarded.request(`/api/v1/annotation/engines/${engineId}/health`, { method: 'POST', token: manager, json: {} });
    expect(probe.status).toBe(200);
    expect(((await probe.json()) as { status: string }).status).not.toBe('down');
    const suggestion = await guarded.request('/api/v1/annotation/suggestion', {
      method: 'POST',
      token: manager,
      json: { project_id: projectId, engine_id: engineId, data: { text: 'I love it, wonderful' } },
    });
    expect(suggestion.status).toBe(200);
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    // HTTP series: a path with an id and an unmatched probing path.
    const probePath = `/probe-${crypto.randomBytes(4).toString('hex')}`;
    expect((await guarded.request(`/api/v1/projects/${projectId}`, { token: manager })).status).toBe(200);
    expect((await guarded.request(probePath)).status).toBe(404);

    const text = await (await scrape(guarded, `Bearer ${METRICS_TOKEN}`)).text();
    expect(text).toMatch(new RegExp(`anno_llm_calls_total\\{engine_id="${engineId}",provider="openai",outcome="ok"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`anno_llm_tokens_total\\{engine_id="${engineId}",provider="openai",kind="prompt"\\} [1-9]`));
    expect(text).toMatch(new RegExp(`anno_llm_cost_usd_total\\{engine_id="${engineId}",provider="openai"\\} 0\\.\\d*[1-9]`));
    expect(text).toContain('route="/api/v1/projects/:project_id"');
    expect(text).toContain('route="unmatched"');
    for (const tenantText of [secretName, secretModel, tenant, projectId, probePath]) expect(text).not.toContain(tenantText);
    // No series is labelled by engine name any more.
    expect(text).not.toMatch(/\{engine="/);
  });
});
