import path from 'node:path';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { tokenFor, type TestApi } from '../helpers/api';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { seedProject, sentimentTexts } from '../helpers/seed';
import { waitFor } from '../helpers/wait';

/**
 * A job's way back from trouble, through HTTP: failed items re-run with retry-failed (a new run
 * of the same job), and a job whose workflow is stuck is reported `stalled` and still cancels.
 */
jest.setTimeout(120_000);

let fake: FakeOpenAI;
let api: TestApi;
let stack: TestStack;
let providerDown = true;

const TENANT = 'acme';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });

beforeAll(async () => {
  stack = await startTestStack({ PRE_ANNOTATION_BATCH_SIZE: '10', LLM_CONCURRENCY: '8' });
  ({ api } = stack);
  // Items that mention "refund" fail for good (a 400 is not retried) until the provider is fixed.
  fake = await startFakeOpenAI({ fault: (r) => (providerDown && r.lastUserText.includes('refund') ? { status: 400, body: { error: { message: 'bad request' } } } : null) });
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

async function call(method: string, url: string, json?: unknown) {
  const res = await api.request(`/api/v1${url}`, { method, token: manager, json });
  return { status: res.status, body: (await res.json()) as any };
}

const progressOf = async (jobId: string) => (await call('GET', `/annotation/pre-annotate/${jobId}/progress`)).body;
const finished = (jobId: string) =>
  waitFor(() => progressOf(jobId), (p) => ['completed', 'cancelled', 'failed'].includes(p.status), 60_000, `job ${jobId} to end`);

test('retry-failed re-runs only the failed items in a new run of the same job; results and counters end final', async () => {
  const project = await call('POST', '/projects', { name: 'Retry', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } });
  const texts = sentimentTexts(40).map((t, i) => (i % 4 === 0 ? `${t} (refund)` : t));
  const imported = await call('POST', `/projects/${project.body.id}/items`, { items: texts.map((text) => ({ data: { text } })) });
  const engine = await call('POST', '/annotation/engines', { name: 'fake', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl });
  expect(engine.status).toBe(201);
  const started = await call('POST', '/annotation/pre-annotate', { project_id: project.body.id, engine_id: engine.body.id, item_ids: imported.body.item_ids });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id;

  // Still open: nothing to retry yet.
  const early = await call('POST', `/annotation/pre-annotate/${jobId}/retry-failed`);
  if (early.status !== 409) expect((await finished(jobId)).status).toBe('completed'); // it was that quick

  const first = await finished(jobId);
  expect(first).toMatchObject({ status: 'completed', total: 40, processed: 40, failed: 10 });
  const firstRun = (await call('GET', `/annotation/jobs/${jobId}`)).body.run_id;

  providerDown = false;
  const retry = await call('POST', `/annotation/pre-annotate/${jobId}/retry-failed`);
  expect(retry.status).toBe(202);
  expect(retry.body).toMatchObject({ job_id: jobId, workflow_id: started.body.workflow_id, action: 'retry-failed' });
  const second = await finished(jobId);
  expect(second).toMatchObject({ status: 'completed', total: 40, processed: 40, failed: 0, succeeded: 40, percent: 100 });

  const job = (await call('GET', `/annotation/jobs/${jobId}`)).body;
  expect(job.run_id).not.toBe(firstRun); // a new run, linked from the job
  expect(job.links.temporal_ui).toContain(job.run_id);
  const results = (await call('GET', `/annotation/pre-annotate/${jobId}/results?page_size=100`)).body;
  expect(results.total).toBe(40);
  expect(new Set(results.items.map((r: { item_id: string }) => r.item_id)).size).toBe(40);
  expect(results.items.filter((r: { status: string }) => r.status === 'failed')).toHaveLength(0);
  // The re-run items are the ones that failed: 10 refund items, each called twice in all.
  const refundCalls = fake.requests.filter((r) => r.lastUserText.includes('refund')).length;
  expect(refundCalls).toBe(20);

  // Nothing failed any more: a further retry is refused.
  expect((await call('POST', `/annotation/pre-annotate/${jobId}/retry-failed`)).status).toBe(409);
});

test('a job whose workflow task keeps failing is reported stalled with the failure, and cancel ends it', async () => {
  const { tenantId, projectId } = await seedProject(stack.tdb.db, { tenantId: TENANT });
  await stack.tdb.db('items').insert(sentimentTexts(5).map((text) => ({ id: crypto.randomUUID(), tenant_id: tenantId, project_id: projectId, data: JSON.stringify({ text }) })));
  // The job's workflow runs on a queue served by workflow code that always throws.
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const job = await startPreAnnotation(stack.tdb.db, stack.env.client, { ...config, TEMPORAL_TASK_QUEUE: 'stuck' }, {
    tenantId, userId: 'mia', project: { id: projectId, routing: {} },
  });
  const stuckWorker = await Worker.create({
    connection: stack.env.nativeConnection,
    taskQueue: 'stuck',
    workflowBundle: await bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '../fixtures/stuck-workflows'), logger: quiet }),
  });
  await stuckWorker.runUntil(async () => {
    const stalled = await waitFor(() => progressOf(job.jobId), (p) => p.status === 'stalled', 60_000, 'the job to be reported stalled');
    expect(stalled.error).toContain('this workflow task always fails');
    const view = (await call('GET', `/annotation/jobs/${job.jobId}`)).body;
    expect(view).toMatchObject({ status: 'stalled', progress: { status: 'stalled' } });
    expect(view.error).toContain('this workflow task always fails');
    expect((await call('POST', `/annotation/pre-annotate/${job.jobId}/pause`)).status).toBe(409);

    const cancelled = await call('POST', `/annotation/pre-annotate/${job.jobId}/cancel`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body.status).toBe('cancelled');
  });
  const description = await stack.env.client.workflow.getHandle(job.workflowId).describe();
  expect(description.status.name).toBe('TERMINATED');
  const row = await stack.tdb.db('jobs').where({ id: job.jobId }).first();
  expect(row).toMatchObject({ status: 'cancelled' });
  expect(row.completed_at).not.toBeNull();
  const ended = await stack.tdb.db('events').where({ project_id: projectId, type: 'job.completed' });
  expect(ended.map((e) => e.payload.status)).toEqual(['cancelled']);
  const audit = await stack.tdb.db('audit_log').where({ entity_id: job.jobId, action: 'job.terminated' });
  expect(audit).toHaveLength(1);
  expect(audit[0].actor).toBe('mia');
  // An ended job stays ended.
  expect((await call('POST', `/annotation/pre-annotate/${job.jobId}/cancel`)).status).toBe(409);
});

const quiet = { trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: console.error, log: () => undefined };
