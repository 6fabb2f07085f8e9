import crypto from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPreAnnotationActivities } from '../../activities/pre-annotation';
import { loadSuggestionContext } from '../../src/api/suggestions/context';
import { suggestionFeedbackMessage } from '../../src/api/suggestions/ws-handler';
import { TestWsClient } from '../helpers/ws-client';
import { loadProjectContext } from '../../src/data/project-context';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../src/llm/builtin-engines';
import { loadVisibleEngine } from '../../src/llm/engine-store';
import { addToPool, loadPool } from '../../src/llm/few-shot-pool';
import { TestApi, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai';

let tdb: TestDatabase;
let api: TestApi;
let fake: FakeOpenAI;
const tenantA = `ta-${crypto.randomBytes(3).toString('hex')}`;
const tenantB = `tb-${crypto.randomBytes(3).toString('hex')}`;
const managerA = tokenFor({ tenantId: tenantA, sub: 'manager-a', roles: ['manager'] });
const annotatorA = tokenFor({ tenantId: tenantA, sub: 'annotator-a', roles: ['annotator'] });
const viewerA = tokenFor({ tenantId: tenantA, sub: 'viewer-a', roles: ['viewer'] });
const managerB = tokenFor({ tenantId: tenantB, sub: 'manager-b', roles: ['manager'] });
const sentiment = { type: 'single_label', labels: ['positive', 'negative', 'neutral'] };

let projectId: string;
let otherProjectId: string;
let projectB: string;
let good: string;
let broken: string;
let brokenWithFallback: string;
let engineB: string;

const post = (path: string, token: string, json: unknown) => api.request(`/api/v1${path}`, { method: 'POST', token, json });
const get = (path: string, token: string) => api.request(`/api/v1${path}`, { token });
const suggest = async (json: Record<string, unknown>, token = annotatorA) => {
  const res = await post('/annotation/suggestion', token, { project_id: projectId, ...json });
  return { res, body: (await res.json()) as any };
};
const feedback = async (json: Record<string, unknown>, token = annotatorA) => {
  const res = await post('/annotation/feedback', token, json);
  return { res, body: (await res.json()) as any };
};

async function engine(token: string, body: Record<string, unknown>) {
  const res = await post('/annotation/engines', token, {
    name: `e-${crypto.randomBytes(3).toString('hex')}`,
    provider: 'openai',
    model: 'good-model',
    base_url: fake.baseUrl,
    price: { input_per_1k: '0.0015', output_per_1k: '0.0021' },
    ...body,
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as any).id as string;
}

async function project(token: string, routing?: Record<string, unknown>) {
  const res = await post('/projects', token, { name: 'Suggest', label_schema: sentiment, ...(routing ? { routing } : {}) });
  expect(res.status).toBe(201);
  return ((await res.json()) as any).id as string;
}

beforeAll(async () => {
  [tdb, fake] = await Promise.all([createTestDatabase(), startFakeOpenAI()]);
  fake.setFault((r) => (r.model === 'broken' ? { status: 500 } : null));
  api = await startTestApi({ db: tdb.db });
  good = await engine(managerA, {});
  broken = await engine(managerA, { model: 'broken' });
  brokenWithFallback = await engine(managerA, { model: 'broken', fallback_engine_ids: [good] });
  engineB = await engine(managerB, {});
  projectId = await project(managerA, { default_engine_id: good });
  otherProjectId = await project(managerA);
  projectB = await project(managerB);
});
afterAll(async () => {
  await api?.close();
  await fake?.close();
  await tdb?.drop();
});

describe('live suggestions', () => {
  it('answers through the project default engine, records the suggestion and emits suggestion.ready; a repeat is a cache hit', async () => {
    const before = fake.requestCount;
    const { res, body } = await suggest({ data: { text: 'I hate how this was packed: negative' } });
    expect(res.status).toBe(200);
    expect(body).toEqual({
      suggestion_id: expect.any(String),
      project_id: projectId,
      item_id: null,
      value: { label: 'negative' },
      confidence: 0.9,
      engine_id: good,
      model: 'good-model',
      latency_ms: expect.any(Number),
      cached: false,
      failed_attempts: [],
      created_at: expect.any(String),
    });
    expect(fake.requestCount).toBe(before + 1);
    const row = await tdb.db('suggestions').where({ id: body.suggestion_id }).first();
    expect(row).toMatchObject({ tenant_id: tenantA, project_id: projectId, text: 'I hate how this was packed: negative', engine_id: good, created_by: 'annotator-a', cached: false, feedback_action: null });
    const events = await tdb.db('events').where({ type: 'suggestion.ready', project_id: projectId });
    expect(events.map((e) => e.payload.suggestion_id)).toContain(body.suggestion_id);

    const again = await suggest({ data: { text: 'I hate how this was packed: negative' } });
    expect(again.body).toMatchObject({ cached: true, value: { label: 'negative' }, engine_id: good });
    expect(again.body.suggestion_id).not.toBe(body.suggestion_id);
    expect(fake.requestCount).toBe(before + 1);
    // The answer, its ledger rows and the suggestion were stored together: another API process
    // (no answers in its memory) answers the repeat from the cache table.
    const ledger = await tdb.db('llm_usage').where({ project_id: projectId, engine_id: good }).orderBy('id', 'desc').limit(2);
    expect(ledger.map((r) => r.cached)).toEqual([true, false]);
    const other = await startTestApi({ db: tdb.db });
    try {
      const res = await other.request('/api/v1/annotation/suggestion', { method: 'POST', token: annotatorA, json: { project_id: projectId, data: { text: 'I hate how this was packed: negative' } } });
      expect(await res.json()).toMatchObject({ cached: true, value: { label: 'negative' } });
      expect(fake.requestCount).toBe(before + 1);
    } finally {
      await other.close();
    }
  });

  it('suggests for an item of the project; validates the request', async () => {
    const imp = await post(`/projects/${projectId}/items`, managerA, { items: [{ data: { text: 'a neutral remark' } }] });
    const [itemId] = ((await imp.json()) as any).item_ids;
    const { res, body } = await suggest({ item_id: itemId });
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ item_id: itemId, value: { label: 'neutral' } });

    expect((await suggest({ item_id: itemId, data: { text: 'x' } })).res.status).toBe(422);
    expect((await suggest({})).res.status).toBe(422);
    expect((await suggest({ project_id: otherProjectId, item_id: itemId })).res.status).toBe(404);
    expect((await suggest({ data: { text: 'x' }, engine_id: crypto.randomUUID() })).res.status).toBe(422);
    expect((await suggest({ project_id: projectB, data: { text: 'x' } })).res.status).toBe(404);
    expect((await suggest({ data: { text: 'x' } }, viewerA)).res.status).toBe(403);
  });

  it('hides other tenants’ engines: not usable for a suggestion', async () => {
    const { res, body } = await suggest({ data: { text: 'x' }, engine_id: engineB });
    expect(res.status).toBe(422);
    expect(body.error.details).toEqual([{ field: 'engine_id', message: expect.stringMatching(/not found/) }]);
  });

  it('fails over to the fallback engine and says why', async () => {
    const { res, body } = await suggest({ data: { text: 'an excellent experience' }, engine_id: brokenWithFallback });
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ engine_id: good, value: { label: 'positive' } });
    // A live suggestion retries a transient failure once on the same engine, then fails over.
    const failed = { engine_id: brokenWithFallback, reason: expect.stringMatching(/^http_5xx: http 500/) };
    expect(body.failed_attempts).toEqual([failed, failed]);
    const row = await tdb.db('suggestions').where({ id: body.suggestion_id }).first();
    expect(row.failed_attempts).toEqual(body.failed_attempts);
  });

  it('answers 503 with each engine’s reason when every engine fails', async () => {
    const failedBefore = await tdb.db('llm_usage').where({ engine_id: broken, outcome: 'error' }).count({ n: '*' });
    const { res, body } = await suggest({ data: { text: 'anything at all' }, engine_id: broken });
    expect(res.status).toBe(503);
    // The first attempt and the live path's one retry.
    const detail = { field: `engines.${broken}`, message: expect.stringMatching(/http 500/) };
    expect(body.error.details).toEqual([detail, detail]);
    // No suggestion, but both failed calls are in the ledger.
    const failedAfter = await tdb.db('llm_usage').where({ engine_id: broken, outcome: 'error' }).count({ n: '*' });
    expect(Number(failedAfter[0].n) - Number(failedBefore[0].n)).toBe(2);
  });
});

describe('feedback and the learning loop', () => {
  it('validates feedback: modify needs a corrected value of the schema; one feedback per suggestion; tenant isolation', async () => {
    const { body: s } = await suggest({ data: { text: 'validation sample text' } });
    const noValue = await feedback({ suggestion_id: s.suggestion_id, action: 'modify' });
    expect(noValue.res.status).toBe(422);
    expect(noValue.body.error.details).toEqual([{ field: 'corrected_value', message: expect.any(String) }]);
    const offSchema = await feedback({ suggestion_id: s.suggestion_id, action: 'modify', corrected_value: { label: 'furious' } });
    expect(offSchema.res.status).toBe(422);
    expect(offSchema.body.error.details[0].field).toMatch(/^corrected_value/);
    const wrongShape = await feedback({ suggestion_id: s.suggestion_id, action: 'modify', corrected_value: { labels: ['negative'] } });
    expect(wrongShape.res.status).toBe(422);
    expect((await feedback({ suggestion_id: s.suggestion_id, action: 'accept', corrected_value: { label: 'negative' } })).res.status).toBe(422);
    expect((await feedback({ suggestion_id: s.suggestion_id, action: 'love' })).res.status).toBe(422);
    expect((await feedback({ suggestion_id: s.suggestion_id, action: 'accept' }, managerB)).res.status).toBe(404);
    expect((await feedback({ suggestion_id: crypto.randomUUID(), action: 'accept' })).res.status).toBe(404);

    const ok = await feedback({ suggestion_id: s.suggestion_id, action: 'reject' });
    expect(ok.res.status).toBe(201);
    expect(ok.body).toMatchObject({ suggestion_id: s.suggestion_id, action: 'reject', final_value: null, corrected_value: null, feedback_by: 'annotator-a' });
    const twice = await feedback({ suggestion_id: s.suggestion_id, action: 'accept' });
    expect(twice.res.status).toBe(409);
  });

  it('a correction becomes a few-shot example in the next prompt of the project (suggestions and pre-annotation)', async () => {
    const text = 'Meh.   The courier was on time';
    const { body: s } = await suggest({ data: { text } });
    expect(s.value).toEqual({ label: 'positive' }); // the fake's default (first label)
    const fb = await feedback({ suggestion_id: s.suggestion_id, action: 'modify', corrected_value: { label: 'neutral' } });
    expect(fb.res.status).toBe(201);
    expect(fb.body).toMatchObject({ action: 'modify', suggested_value: { label: 'positive' }, corrected_value: { label: 'neutral' }, final_value: { label: 'neutral' }, few_shot: 'added' });

    const n = fake.requestCount;
    await suggest({ data: { text: 'a completely different text' } });
    expect(fake.requestCount).toBe(n + 1);
    const prompt = fake.requests[fake.requests.length - 1].messages;
    const at = prompt.findIndex((m) => m.role === 'user' && m.content === text);
    expect(at).toBeGreaterThan(0);
    expect(JSON.parse(prompt[at + 1].content)).toEqual({ label: 'neutral', confidence: 1 });
    expect(prompt[prompt.length - 1]).toEqual({ role: 'user', content: 'a completely different text' });

    // The same text again (differently spaced and cased) is not a second example; the latest judgement wins.
    const { body: s2 } = await suggest({ data: { text: 'meh. the COURIER was on time' } });
    expect((await feedback({ suggestion_id: s2.suggestion_id, action: 'accept' })).res.status).toBe(201);
    const pool = await loadPool(tdb.db, projectId);
    expect(pool.filter((e) => e.text.toLowerCase().includes('courier'))).toEqual([{ text: 'meh. the COURIER was on time', value: { label: 'positive' } }]);

    // Pre-annotation builds its prompts from the same project context.
    const context = await loadProjectContext(tdb.db, tenantA, projectId);
    expect(context.examples).toEqual(expect.arrayContaining([{ text: 'meh. the COURIER was on time', value: { label: 'positive' } }]));
    // Another project learns nothing from it.
    expect((await loadProjectContext(tdb.db, tenantA, otherProjectId)).examples).toEqual([]);

    // Rejecting that value removes the example.
    const { body: s3 } = await suggest({ data: { text: 'Meh. The courier was on time' } });
    expect(s3.value).toEqual({ label: 'positive' });
    expect((await feedback({ suggestion_id: s3.suggestion_id, action: 'reject' })).body.few_shot).toBe('removed');
    expect((await loadPool(tdb.db, projectId)).some((e) => e.text.toLowerCase().includes('courier'))).toBe(false);
  });

  it('a correction reaches the prompts of a later pre-annotation batch of the project', async () => {
    const p = await project(managerA, { default_engine_id: good });
    const { body: s } = await suggest({ project_id: p, data: { text: 'The box was dented, the phone works' } });
    expect((await feedback({ suggestion_id: s.suggestion_id, action: 'modify', corrected_value: { label: 'negative' } })).res.status).toBe(201);

    const imp = await post(`/projects/${p}/items`, managerA, { items: [{ data: { text: 'pre-annotate me please' } }] });
    const [itemId] = ((await imp.json()) as any).item_ids;
    const jobId = crypto.randomUUID();
    await tdb.db('jobs').insert({ id: jobId, tenant_id: tenantA, project_id: p, type: 'pre_annotation', status: 'running', workflow_id: `test/${jobId}`, created_by: 'test' });
    await tdb.db('job_items').insert({ job_id: jobId, seq: 0, item_id: itemId });
    const activities = createPreAnnotationActivities({ db: tdb.db, switcher: api.deps.switcher!, llmConcurrency: 2 });
    const n = fake.requestCount;
    await new MockActivityEnvironment().run(activities.annotateBatch, {
      tenantId: tenantA, projectId: p, jobId, engineId: good, fallbackEngineIds: [], concurrency: 1, fromSeq: 0, toSeq: 1,
    });
    expect(fake.requestCount).toBe(n + 1);
    const prompt = fake.requests[fake.requests.length - 1].messages;
    expect(prompt[prompt.length - 1]).toEqual({ role: 'user', content: 'pre-annotate me please' });
    const at = prompt.findIndex((m) => m.role === 'user' && m.content === 'The box was dented, the phone works');
    expect(at).toBeGreaterThan(0);
    expect(JSON.parse(prompt[at + 1].content)).toEqual({ label: 'negative', confidence: 1 });
  });

  it('over the WebSocket: suggestion.ready reaches subscribers; suggestion_feedback follows the REST rules', async () => {
    api.hub.setHandler('suggestion_feedback', suggestionFeedbackMessage); // as src/processes/api.ts does
    const ws = await TestWsClient.connect(api.baseUrl, annotatorA);
    const viewer = await TestWsClient.connect(api.baseUrl, viewerA);
    try {
      await ws.subscribe(projectId);
      const { body: s } = await suggest({ data: { text: 'socket sample, positive' } });
      const ready = await ws.waitFor((m) => m.type === 'event' && m.event === 'suggestion.ready' && (m.payload as any)?.suggestion_id === s.suggestion_id);
      expect(ready.payload).toMatchObject({ suggestion_id: s.suggestion_id, value: { label: 'positive' }, engine_id: good });

      ws.send({ type: 'suggestion_feedback', request_id: 'f1', suggestion_id: s.suggestion_id, action: 'modify' });
      expect(await ws.next((m) => m.request_id === 'f1')).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' });
      viewer.send({ type: 'suggestion_feedback', request_id: 'v1', suggestion_id: s.suggestion_id, action: 'accept' });
      expect(await viewer.next((m) => m.request_id === 'v1')).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
      ws.send({ type: 'suggestion_feedback', request_id: 'f2', suggestion_id: s.suggestion_id, action: 'accept' });
      expect(await ws.next((m) => m.request_id === 'f2')).toMatchObject({ type: 'ack', for: 'suggestion_feedback', result: { suggestion_id: s.suggestion_id, action: 'accept', few_shot: 'added' } });
      ws.send({ type: 'suggestion_feedback', request_id: 'f3', suggestion_id: s.suggestion_id, action: 'reject' });
      expect(await ws.next((m) => m.request_id === 'f3')).toMatchObject({ type: 'error', code: 'CONFLICT' });
      expect((await tdb.db('suggestions').where({ id: s.suggestion_id }).first()).feedback_action).toBe('accept');
    } finally {
      await ws.close();
      await viewer.close();
    }
  });

  it('builds the same prompt context as pre-annotation (pool first, then gold, deduplicated, bounded)', async () => {
    const p = await project(managerA);
    await post(`/projects/${p}/items`, managerA, {
      items: [
        { data: { text: 'gold one, positive' }, gold_label: { label: 'positive' } },
        { data: { text: 'Pool Overrides  Gold' }, gold_label: { label: 'negative' } },
        { data: { text: 'no gold' } },
        { data: { text: 'gold three' }, gold_label: { label: 'neutral' } },
      ],
    });
    await addToPool(tdb.db, { tenantId: tenantA, projectId: p, text: 'pool overrides gold', value: { label: 'neutral' }, source: 'corrected' });
    await addToPool(tdb.db, { tenantId: tenantA, projectId: p, text: 'pool only', value: { label: 'positive' }, source: 'accepted' });
    const viaActivity = await loadProjectContext(tdb.db, tenantA, p);
    const { context } = await loadSuggestionContext(tdb.db, { tenantId: tenantA, userId: 'x', roles: ['annotator'] }, { projectId: p });
    expect(context.examples).toEqual(viaActivity.examples);
    expect(context.examples).toEqual([
      { text: 'pool only', value: { label: 'positive' } },
      { text: 'pool overrides gold', value: { label: 'neutral' } },
      { text: 'gold one, positive', value: { label: 'positive' } },
      { text: 'gold three', value: { label: 'neutral' } },
    ]);
    expect(context.labelSchema).toEqual(viaActivity.labelSchema);
    await expect(loadSuggestionContext(tdb.db, { tenantId: tenantB, userId: 'x', roles: ['admin'] }, { projectId: p })).rejects.toMatchObject({ status: 404 });
    await expect(loadSuggestionContext(tdb.db, { tenantId: tenantA, userId: 'x', roles: ['admin'], projects: [otherProjectId] }, { projectId: p })).rejects.toMatchObject({ status: 404 });
  });

  it('reads the route’s engines with the context: requested or default, routing fallbacks, their own fallbacks; no other tenant’s', async () => {
    const p = await project(managerA, { default_engine_id: brokenWithFallback, fallback_engine_ids: [broken] });
    const principal = { tenantId: tenantA, userId: 'x', roles: ['annotator' as const] };
    const keys = (m: Map<string, unknown>) => [...m.keys()].sort();
    const viaDefault = await loadSuggestionContext(tdb.db, principal, { projectId: p });
    expect(keys(viaDefault.engines)).toEqual([brokenWithFallback, broken, good].sort());
    // The same records the switcher's own loader reads (prices exact, as text).
    expect(viaDefault.engines.get(good)).toEqual(await loadVisibleEngine(tdb.db, tenantA, good));
    const requested = await loadSuggestionContext(tdb.db, principal, { projectId: p, engineId: good.toUpperCase() });
    expect(keys(requested.engines)).toEqual([good, broken].sort());
    expect((await loadSuggestionContext(tdb.db, principal, { projectId: p, engineId: engineB })).engines.has(engineB)).toBe(false);
    expect(keys((await loadSuggestionContext(tdb.db, principal, { projectId: otherProjectId })).engines)).toEqual([BUILTIN_LOCAL_ENGINE_ID]);
  });

  it('keeps the pool bounded, newest first', async () => {
    const p = await project(managerA);
    for (let i = 0; i < 5; i++) await addToPool(tdb.db, { tenantId: tenantA, projectId: p, text: `example ${i}`, value: { label: 'neutral' }, source: 'accepted' }, 3);
    expect((await loadPool(tdb.db, p)).map((e) => e.text)).toEqual(['example 4', 'example 3', 'example 2']);
  });

  it('lists the history, newest first, with feedback and filters', async () => {
    const res = await get(`/annotation/suggestions/history?project_id=${projectId}&page_size=2`, annotatorA);
    expect(res.status).toBe(200);
    const page = (await res.json()) as any;
    const total = await tdb.db('suggestions').where({ project_id: projectId }).count({ n: '*' }).first();
    expect(page).toMatchObject({ page: 1, page_size: 2, total: Number(total!.n) });
    expect(page.items).toHaveLength(2);
    const newest = await tdb.db('suggestions').where({ project_id: projectId }).orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]).first();
    expect(page.items[0]).toMatchObject({ suggestion_id: newest.id, project_id: projectId, text: newest.text, feedback: { action: newest.feedback_action, by: 'annotator-a' } });
    const courier = (await (await get(`/annotation/suggestions/history?project_id=${projectId}&feedback=reject&page_size=500`, annotatorA)).json()) as any;
    expect(courier.items.map((i: any) => i.text)).toContain('Meh. The courier was on time');
    const modified = (await (await get(`/annotation/suggestions/history?project_id=${projectId}&feedback=modify`, annotatorA)).json()) as any;
    expect(modified.items).toEqual([expect.objectContaining({ feedback: expect.objectContaining({ action: 'modify', corrected_value: { label: 'neutral' } }) })]);
    expect((await get(`/annotation/suggestions/history?project_id=${projectId}`, managerB)).status).toBe(404);
    expect((await get('/annotation/suggestions/history', annotatorA)).status).toBe(422);
  });
});

describe('AI metrics', () => {
  it('reports cost equal to the ledger sums exactly, acceptance from feedback and reviews, per engine and label', async () => {
    // An AI annotation reviewed by a human who agreed, and one who disagreed.
    const imp = await post(`/projects/${projectId}/items`, managerA, { items: [{ data: { text: 'r1' } }, { data: { text: 'r2' } }] });
    const [i1, i2] = ((await imp.json()) as any).item_ids;
    const ann = (item: string, source: string, label: string, extra: Record<string, unknown> = {}) => ({
      id: crypto.randomUUID(), tenant_id: tenantA, project_id: projectId, item_id: item, source, annotator_id: source === 'ai' ? good : 'rev-1',
      value: JSON.stringify({ label }), status: source === 'ai' ? 'auto_accepted' : 'submitted', ...extra,
    });
    await tdb.db('annotations').insert([
      ann(i1, 'ai', 'positive', { engine_id: good, confidence: 0.8 }),
      ann(i2, 'ai', 'negative', { engine_id: good, confidence: 0.6 }),
      ann(i1, 'human', 'positive'),
      ann(i2, 'human', 'neutral'),
    ]);

    const res = await get(`/annotation/metrics?project_id=${projectId}`, managerA);
    expect(res.status).toBe(200);
    const m = (await res.json()) as any;
    const ledger = await tdb.db('llm_usage').where({ project_id: projectId }).select(tdb.db.raw('sum(cost_usd)::text AS s, count(*)::int AS n')).first();
    expect(Number(m.cost_usd)).toBeGreaterThan(0);
    expect(m.cost_usd).toBe(ledger.s.replace(/0+$/, '').replace(/\.$/, ''));
    expect(m.usage.calls).toBe(ledger.n);
    for (const e of m.engines) {
      const row = await tdb.db('llm_usage').where({ project_id: projectId, engine_id: e.engine_id }).select(tdb.db.raw('coalesce(sum(cost_usd), 0)::text AS s')).first();
      expect(Number(e.usage.cost_usd)).toBe(Number(row.s));
      expect(e.usage.cost_usd).toBe(row.s.includes('.') ? row.s.replace(/0+$/, '').replace(/\.$/, '') : row.s);
    }

    const suggestions = await tdb.db('suggestions').where({ project_id: projectId });
    const fbCount = (a: string) => suggestions.filter((s) => s.feedback_action === a).length;
    expect(m).toMatchObject({
      project_id: projectId,
      total_annotations: 4,
      ai_annotations: 2,
      human_annotations: 2,
      suggestions: suggestions.length,
      feedback: { accepted: fbCount('accept'), modified: fbCount('modify'), rejected: fbCount('reject') },
      reviews: { reviewed: 2, agreed: 1, acceptance_rate: 0.5 },
    });
    const accepted = fbCount('accept') + 1;
    const judged = fbCount('accept') + fbCount('modify') + fbCount('reject') + 2;
    expect(m.acceptance_rate).toBeCloseTo(accepted / judged, 4);
    const confs = [...suggestions.map((s) => s.confidence), 0.8, 0.6];
    expect(m.mean_confidence).toBeCloseTo(confs.reduce((a, b) => a + b, 0) / confs.length, 4);
    const goodRow = m.engines.find((e: any) => e.engine_id === good);
    expect(goodRow).toMatchObject({ ai_annotations: 2, reviews: { reviewed: 2, agreed: 1 } });
    expect(goodRow.usage.cache_hits).toBeGreaterThan(0);
    expect(m.engines.find((e: any) => e.engine_id === brokenWithFallback).usage.errors).toBeGreaterThan(0);
    expect(m.labels).toEqual(expect.arrayContaining([expect.objectContaining({ engine_id: good, label: 'positive', modified: 1 })]));

    // Tenant-wide equals the tenant's whole ledger; another tenant sees none of it.
    const all = (await (await get('/annotation/metrics', managerA)).json()) as any;
    const tenantLedger = await tdb.db('llm_usage').where({ tenant_id: tenantA }).select(tdb.db.raw('sum(cost_usd)::text AS s')).first();
    expect(Number(all.cost_usd)).toBe(Number(tenantLedger.s));
    const b = (await (await get('/annotation/metrics', managerB)).json()) as any;
    expect(b).toMatchObject({ total_annotations: 0, suggestions: 0, cost_usd: '0', engines: [] });
    expect((await get(`/annotation/metrics?project_id=${projectId}`, managerB)).status).toBe(404);
  });

  it('the built-in local engine works for suggestions at no cost', async () => {
    const { res, body } = await suggest({ data: { text: 'excellent, I love it' }, engine_id: BUILTIN_LOCAL_ENGINE_ID });
    expect(res.status).toBe(200);
    expect(body).toMatchObject({ engine_id: BUILTIN_LOCAL_ENGINE_ID, cached: false });
  });
});
