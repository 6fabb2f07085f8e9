import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { similarity } from '../../src/annotation/trigram';
import { BATCH_COVERAGE_JOB_TYPE } from '../../src/jobs/job-types';
import { startBatchCoverage } from '../../src/jobs/start-batch-coverage';
import { batchCoverageProgressQuery } from '../../workflows/batch-coverage';
import { errorOf, tokenFor, type TestApi } from '../helpers/api';
import { JOB_ACCEPTED_FIELDS, jobsCompletedCount } from '../helpers/job-metrics';
import type { TestDatabase } from '../helpers/db';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Batch coverage through HTTP: the real API, a Temporal dev server with this service's workers
 * and PostgreSQL with pg_trgm. Near-duplicates of the source get the value as suggestions;
 * distinct texts, the source itself and items a person annotated do not.
 */
let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let api: TestApi;
let stack: TestStack;

const TENANT = 'acme';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const annotator = tokenFor({ tenantId: TENANT, sub: 'ann', roles: ['annotator'] });
const viewer = tokenFor({ tenantId: TENANT, sub: 'vic', roles: ['viewer'] });
const stranger = tokenFor({ tenantId: 'globex', sub: 'eve', roles: ['admin'] });

beforeAll(async () => {
  stack = await startTestStack({ TEMPORAL_UI_URL: 'http://ui.test:8233' });
  ({ tdb, env, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

const SOURCE = 'The battery died after two days of normal use';
const NEAR = [
  'the battery died after 2 days of normal use!',
  'The battery died after two days of normal use.',
  'Battery died after two days of normal usage',
  'THE BATTERY DIED AFTER TWO DAYS OF NORMAL USE',
];
const DISTINCT = [
  'Great screen, I love the colors',
  'Shipping was fast and the box was intact',
  'The camera takes blurry photos at night',
  'Customer service never answered my emails',
  'Battery life is fantastic, lasts a week',
];

async function createProject(token = manager) {
  const res = await api.request('/api/v1/projects', {
    method: 'POST', token, json: { name: 'Phones', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } },
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

async function importTexts(projectId: string, texts: string[], token = manager) {
  const res = await api.request(`/api/v1/projects/${projectId}/items`, {
    method: 'POST', token, json: { items: texts.map((text, i) => ({ external_id: `x-${i}`, data: { text } })) },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { item_ids: string[] }).item_ids;
}

async function waitForJob(jobId: string, statuses = ['completed', 'failed', 'cancelled'], timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.request(`/api/v1/annotation/jobs/${jobId}`, { token: manager });
    expect(res.status).toBe(200);
    const job = (await res.json()) as Record<string, any>;
    if (statuses.includes(job.status) && (job.status !== 'completed' || job.completed_at)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stuck at ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const post = (json: unknown, token = manager) => api.request('/api/v1/annotation/batch-coverage', { method: 'POST', token, json });

test('near-duplicates of the source get the value as suggestions; distinct texts, the source and human-annotated items do not', async () => {
  const project = await createProject();
  const ids = await importTexts(project.id, [SOURCE, ...NEAR, ...DISTINCT, 'the battery died after two days of normal use!!']);
  const [sourceId, ...rest] = ids;
  const nearIds = rest.slice(0, NEAR.length);
  const distinctIds = rest.slice(NEAR.length, NEAR.length + DISTINCT.length);
  const humanId = rest[rest.length - 1];
  // A person already labelled this near-duplicate: coverage leaves it alone.
  await tdb.db('annotations').insert({
    id: crypto.randomUUID(), tenant_id: TENANT, project_id: project.id, item_id: humanId, source: 'human',
    annotator_id: 'ann', value: JSON.stringify({ label: 'neutral' }), status: 'submitted',
  });

  const completedBefore = await jobsCompletedCount(BATCH_COVERAGE_JOB_TYPE, 'completed');
  const res = await post({ project_id: project.id, source_item_id: sourceId, value: { label: 'negative' } }, annotator);
  expect(res.status).toBe(202);
  const job = (await res.json()) as Record<string, any>;
  // The same answer as every job start: the row's status, and no total yet (the job counts the project's items when it starts).
  expect(Object.keys(job).sort()).toEqual(JOB_ACCEPTED_FIELDS);
  expect(job).toMatchObject({ status: 'pending', total: null });
  expect(job.workflow_id).toBe(`batch-coverage/${TENANT}/${job.job_id}`);
  expect(job.links).toMatchObject({
    self: `/api/v1/annotation/jobs/${job.job_id}`,
    progress: `/api/v1/annotation/jobs/${job.job_id}`,
    results: `/api/v1/annotation/batch-coverage/${job.job_id}/results`,
  });
  expect(job.links.temporal_ui).toMatch(/^http:\/\/ui\.test:8233\/namespaces\/default\/workflows\/batch-coverage%2Facme%2F/);

  const done = await waitForJob(job.job_id);
  expect(done).toMatchObject({ type: 'batch_coverage', status: 'completed', workflow_id: job.workflow_id });
  expect(await jobsCompletedCount(BATCH_COVERAGE_JOB_TYPE, 'completed')).toBe(completedBefore + 1);
  expect(done.params).toMatchObject({ source_item_id: sourceId, value: { label: 'negative' }, similarity_threshold: 0.6, max_items: 1000 });
  expect(done.progress).toMatchObject({ total: ids.length - 1, processed: ids.length - 1, needs_review: NEAR.length, percent: 100 });
  expect(done.result).toMatchObject({ suggested: NEAR.length, matched: NEAR.length + 1, skipped_human: 1, stopped_by: 'end_of_items' });

  const rows = await tdb.db('annotations').where({ job_id: job.job_id });
  expect(new Set(rows.map((r) => r.item_id))).toEqual(new Set(nearIds));
  for (const r of rows) {
    expect(r).toMatchObject({ source: 'ai', status: 'needs_review', annotator_id: 'batch-coverage', value: { label: 'negative' }, tenant_id: TENANT });
    const text = NEAR[nearIds.indexOf(r.item_id)];
    const [{ sim }] = (await tdb.db.raw('SELECT similarity(?, ?)::float8 AS sim', [text, SOURCE])).rows;
    expect(r.confidence).toBe(sim); // pg_trgm's figure
    expect(r.confidence).toBe(similarity(text, SOURCE)); // and the in-process one agrees
    expect(r.confidence).toBeGreaterThanOrEqual(0.6);
  }
  for (const id of [sourceId, humanId, ...distinctIds]) expect(rows.find((r) => r.item_id === id)).toBeUndefined();
  for (const text of DISTINCT) expect(similarity(text, SOURCE)).toBeLessThan(0.6);

  // Results, most similar first.
  const results = (await (await api.request(`/api/v1/annotation/batch-coverage/${job.job_id}/results?page_size=2`, { token: manager })).json()) as any;
  expect(results.total).toBe(NEAR.length);
  expect(results.items).toHaveLength(2);
  expect(results.items[0].confidence).toBeGreaterThanOrEqual(results.items[1].confidence);

  const events = await tdb.db('events').where({ project_id: project.id }).orderBy('id');
  expect(events.some((e) => e.type === 'job.progress' && e.payload.job_id === job.job_id && e.payload.job_type === 'batch_coverage')).toBe(true);
  expect(events.at(-1)).toMatchObject({ type: 'job.completed', payload: { job_id: job.job_id, job_type: 'batch_coverage', status: 'completed' } });

  const list = (await (await api.request(`/api/v1/annotation/jobs?project_id=${project.id}&type=batch_coverage`, { token: manager })).json()) as any;
  expect(list.items.map((j: any) => j.job_id)).toEqual([job.job_id]);

  // Operators can find the run by its search attributes.
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `AnnotationJobType = 'batch_coverage' AND AnnotationProjectId = '${project.id}'` })) runs.push(wf.workflowId);
  expect(runs).toEqual([job.workflow_id]);
});

test('a lower threshold reaches further, max_items caps the suggestions in item order', async () => {
  const project = await createProject();
  const texts = [SOURCE, ...Array.from({ length: 30 }, (_, i) => `${SOURCE} ${i}`), ...DISTINCT];
  const [sourceId, ...others] = await importTexts(project.id, texts);
  const capped = (await (await post({ project_id: project.id, source_item_id: sourceId, value: { label: 'negative' }, max_items: 7, similarity_threshold: 0.5 })).json()) as any;
  const done = await waitForJob(capped.job_id);
  expect(done.result).toMatchObject({ suggested: 7, stopped_by: 'max_items' });
  const cappedRows = await tdb.db('annotations').where({ job_id: capped.job_id }).pluck('item_id');
  expect(new Set(cappedRows)).toEqual(new Set(others.slice(0, 7))); // the first matches in item order

  const all = (await (await post({ project_id: project.id, source_item_id: sourceId, value: { label: 'neutral' }, similarity_threshold: 0.5 })).json()) as any;
  expect((await waitForJob(all.job_id)).result).toMatchObject({ suggested: 30 });
  const rows = await tdb.db('annotations').where({ job_id: all.job_id });
  expect(new Set(rows.map((r) => r.item_id)).size).toBe(30);
});

test('bad input is refused and starts nothing', async () => {
  const project = await createProject();
  const [sourceId] = await importTexts(project.id, [SOURCE, NEAR[0]]);
  const other = await createProject();
  const [otherItem] = await importTexts(other.id, ['elsewhere']);
  const foreign = await createProject(stranger);
  const before = await tdb.db('jobs').count({ n: '*' });
  const base = { project_id: project.id, source_item_id: sourceId, value: { label: 'negative' } };

  const offSchema = await post({ ...base, value: { label: 'furious' } });
  expect(offSchema.status).toBe(422);
  expect((await errorOf(offSchema)).details[0].field).toMatch(/^value/);
  expect((await post({ ...base, value: { labels: ['negative'] } })).status).toBe(422); // single_label project
  for (const [field, bad] of [['similarity_threshold', 1.5], ['similarity_threshold', -0.1], ['max_items', 0], ['max_items', 100_001]] as const) {
    const res = await post({ ...base, [field]: bad });
    expect(res.status).toBe(422);
    expect((await errorOf(res)).details.map((d) => d.field)).toContain(field);
  }
  const wrongProject = await post({ ...base, source_item_id: otherItem });
  expect(wrongProject.status).toBe(422);
  expect((await errorOf(wrongProject)).details[0].field).toBe('source_item_id');
  expect((await post({ ...base, project_id: foreign.id })).status).toBe(404);
  expect((await post(base, viewer)).status).toBe(403);
  expect(await tdb.db('jobs').count({ n: '*' })).toEqual(before);

  const started = (await (await post(base)).json()) as any;
  expect((await api.request(`/api/v1/annotation/jobs/${started.job_id}`, { token: stranger })).status).toBe(404);
  expect((await api.request(`/api/v1/annotation/batch-coverage/${started.job_id}/results`, { token: stranger })).status).toBe(404);
  await waitForJob(started.job_id);
});

test('pages through a large project across continue-as-new runs and keeps its counters', async () => {
  const project = await createProject();
  const texts = [SOURCE, ...Array.from({ length: 40 }, (_, i) => (i % 2 ? `${SOURCE} ${i}` : `${DISTINCT[i % DISTINCT.length]} ${i}`))];
  const [sourceId, ...others] = await importTexts(project.id, texts);
  const started = await startBatchCoverage(tdb.db, env.client, api.deps.config, {
    tenantId: TENANT, userId: 'mia', projectId: project.id, sourceItemId: sourceId, value: { label: 'negative' },
    similarityThreshold: 0.6, maxItems: 1000, pageSize: 3, pagesPerRun: 2,
  });
  const handle = env.client.workflow.getHandle(started.workflowId);
  const result = await handle.result();
  expect(result).toMatchObject({ status: 'completed', scanned: 40, suggested: 20, matched: 20 });
  const rows = await tdb.db('annotations').where({ job_id: started.jobId }).pluck('item_id');
  expect(new Set(rows)).toEqual(new Set(others.filter((_, i) => i % 2)));
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${started.workflowId}'` })) runs.push(wf.runId);
  expect(runs.length).toBeGreaterThanOrEqual(6); // 14 pages at 2 a run
  const job = await waitForJob(started.jobId);
  expect(job.progress).toMatchObject({ total: 40, processed: 40, needs_review: 20, percent: 100 });
  // The progress query answers from the last run too, with the counters carried across runs.
  const live = await handle.query(batchCoverageProgressQuery);
  expect(live).toMatchObject({ total: 40, counters: { processed: 40, needs_review: 20 }, suggested: 20 });
  expect(live.runs).toBe(runs.length - 1);
});
