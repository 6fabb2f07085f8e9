import { JOB_ACCEPTED_FIELDS, jobsCompletedCount } from '../helpers/job-metrics';
import { errorOf, tokenFor, type TestApi } from '../helpers/api';
import type { TestDatabase } from '../helpers/db';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { sentimentTexts } from '../helpers/seed';

/**
 * Pre-annotation through HTTP, end to end: the real API, a real Temporal dev server with
 * this service's workers, real PostgreSQL, and a fake OpenAI-compatible provider.
 */
let tdb: TestDatabase;
let fake: FakeOpenAI;
let api: TestApi;
let stack: TestStack;

const TENANT = 'acme';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const annotator = tokenFor({ tenantId: TENANT, sub: 'ann', roles: ['annotator'] });
const stranger = tokenFor({ tenantId: 'globex', sub: 'eve', roles: ['admin'] });

beforeAll(async () => {
  stack = await startTestStack({ PRE_ANNOTATION_BATCH_SIZE: '10', LLM_CONCURRENCY: '8', TEMPORAL_UI_URL: 'http://ui.test:8233' });
  ({ tdb, api } = stack);
  fake = await startFakeOpenAI({ latencyMs: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

async function createProject(token = manager, body: Record<string, unknown> = {}) {
  const res = await api.request('/api/v1/projects', {
    method: 'POST',
    token,
    json: { name: 'Reviews', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] }, ...body },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

async function importItems(projectId: string, texts: string[]) {
  const ndjson = texts.map((text, i) => JSON.stringify({ external_id: `ext-${i}`, data: { text } })).join('\n');
  const res = await api.request(`/api/v1/projects/${projectId}/items`, {
    method: 'POST',
    token: manager,
    headers: { 'Content-Type': 'application/x-ndjson' },
    body: ndjson,
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { inserted: number; item_ids: string[] };
}

async function progressOf(jobId: string, token = manager) {
  const res = await api.request(`/api/v1/annotation/pre-annotate/${jobId}/progress`, { token });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

async function waitForStatus(jobId: string, statuses: string[], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await progressOf(jobId);
    if (statuses.includes(p.status)) return p;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stuck at ${p.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('create project, import items, pre-annotate: progress reaches completed and results are complete and valid', async () => {
  const project = await createProject();
  const imported = await importItems(project.id, sentimentTexts(57));
  expect(imported.inserted).toBe(57);

  const started = await api.request('/api/v1/annotation/pre-annotate', { method: 'POST', token: manager, json: { project_id: project.id } });
  expect(started.status).toBe(202);
  const job = (await started.json()) as Record<string, any>;
  expect(Object.keys(job).sort()).toEqual(JOB_ACCEPTED_FIELDS);
  expect(job).toMatchObject({ status: 'pending', total: 57 });
  expect(job.workflow_id).toBe(`pre-annotation/${TENANT}/${job.job_id}`);
  expect(job.links.progress).toBe(`/api/v1/annotation/pre-annotate/${job.job_id}/progress`);
  expect(job.links.results).toBe(`/api/v1/annotation/pre-annotate/${job.job_id}/results`);
  expect(job.links.temporal_ui).toMatch(/^http:\/\/ui\.test:8233\/namespaces\/default\/workflows\/pre-annotation%2Facme%2F/);

  const done = await waitForStatus(job.job_id, ['completed']);
  expect(done).toMatchObject({ job_id: job.job_id, total: 57, processed: 57, failed: 0, percent: 100, eta_seconds: 0 });
  expect(done.auto_accepted + done.needs_review).toBe(57);

  const items: any[] = [];
  for (let page = 1; ; page++) {
    const res = await api.request(`/api/v1/annotation/pre-annotate/${job.job_id}/results?page=${page}&page_size=20`, { token: manager });
    const body = (await res.json()) as { items: any[]; total: number };
    expect(body.total).toBe(57);
    items.push(...body.items);
    if (body.items.length < 20) break;
  }
  expect(items).toHaveLength(57);
  expect(new Set(items.map((i) => i.item_id))).toEqual(new Set(imported.item_ids));
  for (const r of items) {
    expect(['positive', 'negative', 'neutral']).toContain(r.value.label);
    expect(r.confidence).toBeGreaterThanOrEqual(0);
    expect(r.confidence).toBeLessThanOrEqual(1);
    expect(r.status).toBe(r.confidence >= 0.85 ? 'auto_accepted' : 'needs_review');
    expect(r.external_id).toMatch(/^ext-\d+$/);
  }

  // The job as every job is shown, and in the list.
  const detail = (await (await api.request(`/api/v1/annotation/jobs/${job.job_id}`, { token: annotator })).json()) as any;
  expect(detail).toMatchObject({ job_id: job.job_id, type: 'pre_annotation', status: 'completed', workflow_id: job.workflow_id });
  expect(detail.run_id).toBeTruthy();
  expect(detail.result.processed).toBe(57);
  const list = (await (await api.request(`/api/v1/annotation/jobs?project_id=${project.id}&type=pre_annotation&status=completed`, { token: manager })).json()) as any;
  expect(list.total).toBe(1);
  expect(list.items[0].job_id).toBe(job.job_id);

  // A second job with no item_ids finds nothing left to annotate.
  const again = await api.request('/api/v1/annotation/pre-annotate', { method: 'POST', token: manager, json: { project_id: project.id } });
  const second = (await again.json()) as any;
  expect(second.total).toBe(0);
  expect((await waitForStatus(second.job_id, ['completed'])).processed).toBe(0);
});

test('pause, resume and cancel through HTTP', async () => {
  const project = await createProject();
  await importItems(project.id, sentimentTexts(60));
  const engine = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engine, tenant_id: TENANT, name: 'slow', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl, params: JSON.stringify({ cache: false }) });
  fake.setLatency(50);
  try {
    const res = await api.request('/api/v1/annotation/pre-annotate', {
      method: 'POST', token: manager, json: { project_id: project.id, engine_id: engine, batch_size: 5, concurrency: 2 },
    });
    const job = (await res.json()) as any;
    await waitForStatus(job.job_id, ['running']);
    const pause = await api.request(`/api/v1/annotation/pre-annotate/${job.job_id}/pause`, { method: 'POST', token: manager });
    expect(pause.status).toBe(202);
    expect(((await pause.json()) as any).action).toBe('pause');
    const paused = await waitForStatus(job.job_id, ['paused']);
    await new Promise((r) => setTimeout(r, 500));
    const still = await progressOf(job.job_id);
    expect(still.status).toBe('paused');
    expect(still.processed).toBeLessThan(60);
    expect(still.processed).toBeGreaterThanOrEqual(paused.processed);

    expect((await api.request(`/api/v1/annotation/pre-annotate/${job.job_id}/resume`, { method: 'POST', token: manager })).status).toBe(202);
    await waitForStatus(job.job_id, ['running', 'completed']);
    expect((await api.request(`/api/v1/annotation/pre-annotate/${job.job_id}/cancel`, { method: 'POST', token: manager })).status).toBe(202);
    expect((await waitForStatus(job.job_id, ['cancelled', 'completed'])).status).toBe('cancelled');
    // Batches already running finish; the job row holds the final figures once the run closes.
    let end: any;
    for (let i = 0; i < 200 && !end?.completed_at; i++) {
      end = await (await api.request(`/api/v1/annotation/jobs/${job.job_id}`, { token: manager })).json();
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(end.status).toBe('cancelled');
    expect(end.progress.processed).toBeLessThan(60);
    const [{ count }] = await tdb.db('annotations').where({ job_id: job.job_id }).count({ count: '*' });
    expect(Number(count)).toBe(end.progress.processed);

    // An ended job takes no more signals.
    const late = await api.request(`/api/v1/annotation/pre-annotate/${job.job_id}/resume`, { method: 'POST', token: manager });
    expect(late.status).toBe(409);
    expect((await errorOf(late)).code).toBe('CONFLICT');
  } finally {
    fake.setLatency(0);
  }
});

test('bad input is refused with the documented errors and starts nothing', async () => {
  const project = await createProject();
  const { item_ids } = await importItems(project.id, sentimentTexts(3));
  const other = await createProject(stranger);
  const jobsBefore = await tdb.db('jobs').count({ count: '*' });
  const post = (json: unknown, token = manager) => api.request('/api/v1/annotation/pre-annotate', { method: 'POST', token, json });

  expect((await post({ project_id: project.id }, annotator)).status).toBe(403);
  expect((await api.request('/api/v1/annotation/pre-annotate', { method: 'POST', json: { project_id: project.id } })).status).toBe(401);
  expect((await post({ project_id: other.id })).status).toBe(404); // another tenant's project

  const badField = await post({ project_id: project.id, batch_size: 0 });
  expect(badField.status).toBe(422);
  expect((await errorOf(badField)).details.map((d) => d.field)).toContain('batch_size');

  const unknownEngine = await post({ project_id: project.id, engine_id: crypto.randomUUID() });
  expect(unknownEngine.status).toBe(422);
  expect((await errorOf(unknownEngine)).details[0].field).toBe('engine_id');

  const foreignItem = await post({ project_id: project.id, item_ids: [item_ids[0], crypto.randomUUID()] });
  expect(foreignItem.status).toBe(422);
  expect((await errorOf(foreignItem)).details[0].field).toBe('item_ids');

  const malformed = await api.request('/api/v1/annotation/pre-annotate', {
    method: 'POST', token: manager, headers: { 'Content-Type': 'application/json' }, body: '{"project_id": ',
  });
  expect(malformed.status).toBe(400);
  const wrongType = await api.request('/api/v1/annotation/pre-annotate', {
    method: 'POST', token: manager, headers: { 'Content-Type': 'text/plain' }, body: 'project_id',
  });
  expect(wrongType.status).toBe(415);
  expect(await tdb.db('jobs').count({ count: '*' })).toEqual(jobsBefore);

  // Another tenant's job is a 404 on every job route.
  const started = (await (await post({ project_id: project.id })).json()) as any;
  for (const path of [`/annotation/jobs/${started.job_id}`, `/annotation/pre-annotate/${started.job_id}/progress`, `/annotation/pre-annotate/${started.job_id}/results`]) {
    expect((await api.request(`/api/v1${path}`, { token: stranger })).status).toBe(404);
  }
  expect((await api.request(`/api/v1/annotation/pre-annotate/${started.job_id}/cancel`, { method: 'POST', token: stranger })).status).toBe(404);
  expect((await api.request(`/api/v1/annotation/jobs?page=0`, { token: manager })).status).toBe(422);
  await waitForStatus(started.job_id, ['completed']);
});
