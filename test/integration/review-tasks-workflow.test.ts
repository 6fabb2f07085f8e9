import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createTaskActivities } from '../../activities/tasks';
import { loadConfig } from '../../src/config';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { buildWorkers } from '../../src/processes/worker';
import { REVIEW_TASK_SIZE, startTask, taskIdFor } from '../../src/tasks/start-task';
import { rejectionToApiError } from '../../src/tasks/decisions';
import { claimSignal, reassignSignal, releaseSignal, statusQuery, submitReviewUpdate } from '../../workflows/review-assignment';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import { startTestTemporal, testWorkflowBundle } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';

/**
 * reviewAssignment below the API: review tasks made from a pre-annotation job's low-confidence
 * items, and the claim / release / reassign signals. Real Temporal dev server, real PostgreSQL.
 */
let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let fake: FakeOpenAI;
let stopWorkers: () => void;
let workersDone: Promise<void>;
const config = loadConfig({ ...process.env, PRE_ANNOTATION_BATCH_SIZE: '10', LLM_CONCURRENCY: '8', LOG_LEVEL: 'silent' });

beforeAll(async () => {
  [tdb, env, fake] = await Promise.all([createTestDatabase(), startTestTemporal(), startFakeOpenAI({ latencyMs: 0 })]);
  const workers: Worker[] = await buildWorkers(config, tdb.db, env.nativeConnection, await testWorkflowBundle());
  const stop = new Promise<void>((resolve) => (stopWorkers = resolve));
  workersDone = Promise.all(workers.map((w) => w.runUntil(stop))).then(() => undefined);
});
afterAll(async () => {
  stopWorkers?.();
  await workersDone;
  await Promise.all([env?.teardown(), tdb?.drop(), fake?.close()]);
});

async function members(projectId: string, tenantId: string, list: [string, string][]) {
  for (let i = 0; i < list.length; i++) {
    await tdb.db('project_members').insert({ tenant_id: tenantId, project_id: projectId, user_id: list[i][0], role: list[i][1], created_at: new Date(Date.now() + i) });
  }
}


test('low-confidence pre-annotation items become review tasks of bounded size, once', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db, { routing: { high_confidence_threshold: 0.85, low_confidence_threshold: 0.5 } });
  await members(projectId, tenantId, [['r1', 'reviewer'], ['r2', 'reviewer']]);
  const texts = sentimentTexts(60).map((t, i) => (i % 2 === 0 ? `${t} UNSURE` : t));
  await seedItems(tdb.db, tenantId, projectId, texts);
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: 'fake-gpt', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl });
  fake.setFault((req) => (req.lastUserText.includes('UNSURE') ? { label: 'neutral', confidence: 0.2 } : { label: 'positive', confidence: 0.7 }));
  try {
    const job = await startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'u1', project: { id: projectId, routing: {} }, engineId });
    const result = await env.client.workflow.getHandle(job.workflowId).result();
    expect(result.counters.processed).toBe(60);

    const tasks = await tdb.db('tasks').where({ source: 'pre_annotation', source_id: job.jobId }).orderBy('created_at');
    expect(tasks.map((t) => t.item_count).sort((a, b) => b - a)).toEqual([REVIEW_TASK_SIZE, 30 - REVIEW_TASK_SIZE]);
    expect(new Set(tasks.map((t) => t.id))).toEqual(new Set([0, 1].map((i) => taskIdFor(`pre-annotation:${job.jobId}:review:${i}`))));
    const low = await tdb.db('annotations').where({ job_id: job.jobId }).andWhere('confidence', '<', 0.5).pluck('item_id');
    expect(low).toHaveLength(30);
    expect(new Set(tasks.flatMap((t) => t.item_ids))).toEqual(new Set(low));
    for (const t of tasks) expect(t.kind).toBe('review');
    const assigned = await waitFor(
      () => tdb.db('tasks').where({ source_id: job.jobId }).pluck('assignee_id'),
      (ids) => ids.every(Boolean),
    );
    expect(new Set(assigned)).toEqual(new Set(['r1', 'r2']));

    // A retried activity (or a second start of the same task) creates nothing new.
    const activities = createTaskActivities({ db: tdb.db });
    const again = await new MockActivityEnvironment({ taskQueue: config.TEMPORAL_TASK_QUEUE }, { client: env.client }).run(
      activities.createLowConfidenceReviewTasks,
      { tenantId, projectId, jobId: job.jobId },
    );
    expect(again).toEqual({ tasks: 2, items: 30 });
    expect(await tdb.db('tasks').where({ source_id: job.jobId }).count({ n: '*' }).first()).toEqual({ n: '2' });
    const dup = await startTask(tdb.db, env.client, config, {
      tenantId, projectId, taskId: tasks[0].id, kind: 'review', itemIds: tasks[0].item_ids, createdBy: 'system', source: 'pre_annotation',
    });
    expect(dup.started).toBe(false);
    const runs: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${tasks[0].workflow_id}'` })) runs.push(wf.runId);
    expect(runs).toHaveLength(1);
  } finally {
    fake.setFault(null);
  }
});

test('claim, release and reassign signals; status query', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await members(projectId, tenantId, [['r1', 'reviewer'], ['r2', 'reviewer'], ['r3', 'reviewer']]);
  const [itemId] = await seedItems(tdb.db, tenantId, projectId, ['one']);
  const { workflowId, taskId } = await startTask(tdb.db, env.client, config, {
    tenantId, projectId, kind: 'review', itemIds: [itemId], strategy: 'round_robin', createdBy: 'm', source: 'api',
  });
  const handle = env.client.workflow.getHandle(workflowId);
  const st = await waitFor(() => handle.query(statusQuery), (s) => s.assigneeId !== null);
  expect(st).toMatchObject({ taskId, status: 'open', assigneeId: 'r1', attempts: 1, total: 1, decided: 0 });

  await handle.signal(claimSignal, { userId: 'r1' });
  await waitFor(() => handle.query(statusQuery), (s) => s.claimed);
  expect((await tdb.db('tasks').where({ id: taskId }).first()).claimed_at).not.toBeNull();

  await handle.signal(releaseSignal, { userId: 'r1' });
  const released = await waitFor(() => handle.query(statusQuery), (s) => s.assigneeId !== 'r1');
  expect(released.assigneeId).toBe('r2');

  await handle.signal(reassignSignal, { byUserId: 'm', assigneeId: 'r3' });
  await waitFor(() => handle.query(statusQuery), (s) => s.assigneeId === 'r3');

  // The previous assignee is refused by the workflow's validator itself.
  await expect(handle.executeUpdate(submitReviewUpdate, { args: [{ userId: 'r2', isManager: false, decision: 'approve' }] })).rejects.toThrow();
  const verdict = await handle.executeUpdate(submitReviewUpdate, { args: [{ userId: 'r3', isManager: false, decision: 'modify', value: { label: 'negative' } }] });
  expect(verdict).toMatchObject({ accepted: true, remaining: 0, decidedBy: 'r3' });
  const final = await handle.result();
  expect(final).toMatchObject({ status: 'completed', assignees: ['r1', 'r2', 'r3'], decided: 1 });
  const row = await tdb.db('annotations').where({ task_id: taskId }).first();
  expect(row).toMatchObject({ source: 'human', annotator_id: 'r3', value: { label: 'negative' }, status: 'modified' });
});

test('after release, the releasing assignee’s decision is refused at once (403), until a manager assigns them again', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await members(projectId, tenantId, [['r1', 'reviewer'], ['r2', 'reviewer']]);
  const [itemId] = await seedItems(tdb.db, tenantId, projectId, ['one']);
  const { workflowId, taskId } = await startTask(tdb.db, env.client, config, {
    tenantId, projectId, kind: 'review', itemIds: [itemId], strategy: 'round_robin', createdBy: 'm', source: 'api',
  });
  const handle = env.client.workflow.getHandle(workflowId);
  await waitFor(() => handle.query(statusQuery), (s) => s.assigneeId === 'r1');

  // No wait between the release and the decision: the reassignment has not run yet.
  await handle.signal(releaseSignal, { userId: 'r1' });
  const refused = await handle.executeUpdate(submitReviewUpdate, { args: [{ userId: 'r1', isManager: false, decision: 'approve' }] }).catch((e) => e);
  expect(rejectionToApiError(refused)).toMatchObject({ status: 403, message: expect.stringMatching(/released/) });
  await waitFor(() => handle.query(statusQuery), (s) => s.assigneeId === 'r2');
  const late = await handle.executeUpdate(submitReviewUpdate, { args: [{ userId: 'r1', isManager: false, decision: 'approve' }] }).catch((e) => e);
  expect(rejectionToApiError(late)).toMatchObject({ status: 403 });
  expect(await tdb.db('annotations').where({ task_id: taskId })).toHaveLength(0);

  // A manager gives the task back to r1: their decision counts again.
  await handle.signal(reassignSignal, { byUserId: 'm', assigneeId: 'r1' });
  await waitFor(() => handle.query(statusQuery), (s) => s.assigneeId === 'r1');
  const verdict = await handle.executeUpdate(submitReviewUpdate, { args: [{ userId: 'r1', isManager: false, decision: 'approve' }] });
  expect(verdict).toMatchObject({ accepted: true, decidedBy: 'r1', remaining: 0 });
  expect(await handle.result()).toMatchObject({ status: 'completed', assignees: ['r1', 'r2'] });
});
