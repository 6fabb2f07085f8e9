import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { buildWorkers } from '../../src/processes/worker';
import { runWorkers } from '../../src/temporal/worker';
import { progressQuery, pauseSignal, resumeSignal, cancelSignal } from '../../workflows/pre-annotation';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import { startTestTemporal, testWorkflowBundle } from '../helpers/temporal';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';

/**
 * The preAnnotation workflow below the API: a real Temporal dev server, real PostgreSQL,
 * the built-in local engine and a fake OpenAI-compatible server for latency and faults.
 */
let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let fake: FakeOpenAI;
const config = loadConfig({ ...process.env, PRE_ANNOTATION_BATCH_SIZE: '10', LLM_CONCURRENCY: '8', LOG_LEVEL: 'silent' });

beforeAll(async () => {
  [tdb, env, fake] = await Promise.all([createTestDatabase(), startTestTemporal(), startFakeOpenAI({ latencyMs: 0 })]);
});
afterAll(async () => {
  await Promise.all([env?.teardown(), tdb?.drop(), fake?.close()]);
});

async function withWorkers<T>(fn: () => Promise<T>): Promise<T> {
  const workers: Worker[] = await buildWorkers(config, tdb.db, env.nativeConnection, await testWorkflowBundle());
  let result!: T;
  await runWorkers(
    workers,
    fn().then((r) => void (result = r)),
  );
  return result;
}

async function openAiEngine(tenantId: string): Promise<string> {
  const id = crypto.randomUUID();
  await tdb.db('engines').insert({ id, tenant_id: tenantId, name: 'fake-gpt', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl });
  return id;
}

async function annotationCounts(jobId: string) {
  const rows = await tdb.db('annotations').where({ job_id: jobId }).select('item_id');
  return { rows: rows.length, distinct: new Set(rows.map((r) => r.item_id)).size };
}

test('annotates every item exactly once, routes by confidence and completes the job', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(45));
  const result = await withWorkers(async () => {
    const job = await startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'u1', project: { id: projectId, routing: {} } });
    expect(job.total).toBe(45);
    const r = await env.client.workflow.getHandle(job.workflowId).result();
    return { ...r, jobId: job.jobId };
  });
  expect(result.status).toBe('completed');
  expect(result.counters.processed).toBe(45);
  expect(result.counters.auto_accepted + result.counters.needs_review + result.counters.failed).toBe(45);
  expect(await annotationCounts(result.jobId)).toEqual({ rows: 45, distinct: 45 });
  const job = await tdb.db('jobs').where({ id: result.jobId }).first();
  expect(job.status).toBe('completed');
  expect(job.progress.processed).toBe(45);
  const events = await tdb.db('events').where({ project_id: projectId }).orderBy('id');
  expect(events.at(-1).type).toBe('job.completed');
  expect(events.filter((e) => e.type === 'job.progress').length).toBeGreaterThan(0);
  // The local engine learns the label names: the obvious items come out right.
  const wrong = await tdb.db('annotations as a')
    .join('items as i', 'i.id', 'a.item_id')
    .where('a.job_id', result.jobId)
    .whereRaw("position((a.value->>'label') in (i.data->>'text')) = 0");
  expect(wrong.length).toBe(0);
});

test('continues as new with a small threshold and keeps its counters', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(60));
  const small = { ...config, PRE_ANNOTATION_BATCHES_PER_RUN: 2, PRE_ANNOTATION_BATCH_SIZE: 5 };
  const { jobId, workflowId, runId: firstRunId, result } = await withWorkers(async () => {
    const job = await startPreAnnotation(tdb.db, env.client, small, { tenantId, userId: 'u1', project: { id: projectId, routing: {} } });
    const handle = env.client.workflow.getHandle(job.workflowId);
    return { ...job, result: await handle.result() };
  });
  expect(result.counters.processed).toBe(60);
  expect(await annotationCounts(jobId)).toEqual({ rows: 60, distinct: 60 });
  // 12 batches at 2 per run: at least 6 runs chained by continue-as-new.
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.runId);
  expect(runs.length).toBeGreaterThanOrEqual(6);
  // The row follows the chain: its run id is the last run's (the one that finished the job), not the first.
  const lastRun = (await env.client.workflow.getHandle(workflowId).describe()).runId;
  const row = await tdb.db('jobs').where({ id: jobId }).first('run_id');
  expect(row.run_id).toBe(lastRun);
  expect(runs).toContain(lastRun);
  expect(lastRun).not.toBe(firstRunId);
});

test('pause holds the job, resume finishes it, cancel stops another', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(80));
  const engineId = await openAiEngine(tenantId);
  fake.setLatency(40);
  try {
    await withWorkers(async () => {
      const job = await startPreAnnotation(tdb.db, env.client, { ...config, LLM_CONCURRENCY: 2 }, {
        tenantId, userId: 'u1', project: { id: projectId, routing: {} }, engineId, batchSize: 5, concurrency: 2,
      });
      const handle = env.client.workflow.getHandle(job.workflowId);
      await waitFor(async () => (await handle.query(progressQuery)).counters.processed >= 5);
      await handle.signal(pauseSignal);
      // The row says paused at once (what GET progress falls back to); the batches in flight finish, then nothing moves.
      await waitFor(async () => (await tdb.db('jobs').where({ id: job.jobId }).first()).status === 'paused');
      let pausedAt = -1;
      for (let last = -2; pausedAt !== last; await sleep(300)) [last, pausedAt] = [pausedAt, (await handle.query(progressQuery)).counters.processed];
      await sleep(400);
      expect((await handle.query(progressQuery)).counters.processed).toBe(pausedAt);
      expect((await handle.query(progressQuery)).status).toBe('paused');
      await handle.signal(resumeSignal);
      const done = await handle.result();
      expect(done.status).toBe('completed');
      expect(done.counters.processed).toBe(80);

      const { projectId: p2 } = await seedProject(tdb.db, { tenantId });
      await seedItems(tdb.db, tenantId, p2, sentimentTexts(80));
      const job2 = await startPreAnnotation(tdb.db, env.client, config, {
        tenantId, userId: 'u1', project: { id: p2, routing: {} }, engineId, batchSize: 5, concurrency: 2,
      });
      const h2 = env.client.workflow.getHandle(job2.workflowId);
      await waitFor(async () => (await h2.query(progressQuery)).counters.processed >= 5);
      await h2.signal(cancelSignal);
      const cancelled = await h2.result();
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.counters.processed).toBeLessThan(80);
      const row = await tdb.db('jobs').where({ id: job2.jobId }).first();
      expect(row.status).toBe('cancelled');
      expect(await annotationCounts(job2.jobId)).toEqual({ rows: cancelled.counters.processed, distinct: cancelled.counters.processed });
    });
  } finally {
    fake.setLatency(0);
  }
});

test('items whose provider calls fail are recorded failed with the reason; the job completes', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const texts = sentimentTexts(30).map((t, i) => (i % 3 === 0 ? `${t} POISON` : t));
  await seedItems(tdb.db, tenantId, projectId, texts);
  const engineId = await openAiEngine(tenantId);
  fake.setFault((req) => (req.lastUserText.includes('POISON') ? { status: 500, body: { error: { message: 'upstream exploded' } } } : null));
  try {
    const { jobId, result } = await withWorkers(async () => {
      const job = await startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'u1', project: { id: projectId, routing: {} }, engineId });
      return { ...job, result: await env.client.workflow.getHandle(job.workflowId).result() };
    });
    expect(result.status).toBe('completed');
    expect(result.counters.failed).toBe(10);
    expect(result.counters.succeeded).toBe(20);
    const failed = await tdb.db('annotations').where({ job_id: jobId, status: 'failed' });
    expect(failed).toHaveLength(10);
    for (const f of failed) expect(f.error).toMatch(/500|upstream exploded/);
  } finally {
    fake.setFault(null);
  }
});

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
async function waitFor(check: () => Promise<boolean>, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error('condition not met in time');
}
