import crypto from 'node:crypto';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { MockActivityEnvironment, type TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, type Worker } from '@temporalio/worker';
import { createTaskActivities, type RecordedDecision } from '../../activities/tasks';
import { createValidationActivities } from '../../activities/validation';
import { loadConfig } from '../../src/config';
import { buildWorkers } from '../../src/processes/worker';
import { scheduleConflictSweep, sweepUnstartedConflicts } from '../../src/tasks/conflict-sweep';
import { startTask } from '../../src/tasks/start-task';
import { awaitAssignmentUpdate, submitReviewUpdate } from '../../workflows/review-assignment';
import { startTestApi, tokenFor, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { seedItems, seedProject } from '../helpers/seed';
import { startTestTemporal, testWorkflowBundle } from '../helpers/temporal';
import { spawnWorkerProcess, stopProcess } from '../helpers/worker-process';
import { submitAnnotation } from '../../src/tasks/submit-annotation';
import { waitFor } from '../helpers/wait';

/**
 * A human annotation's consequences are durable: the conflict of a disagreement is opened by the
 * activity that writes the annotations (task decisions) or in the transaction of the annotation
 * (task-less /submit), never by an API process after the fact. Real Temporal dev server running
 * this service's workers, real PostgreSQL; faults are a Temporal client that cannot connect and a
 * PostgreSQL trigger that fails the conflict insert.
 */
let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let stopWorkers: () => void;
let workersDone: Promise<void>;
/** A Temporal client whose server is a closed port: every start fails. */
let deadConnection: Connection;
let deadClient: Client;
const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
const quiet = { info: () => undefined, warn: () => undefined };
/** Automatic resolution never applies (margin ≤ 1): every conflict stays open for an expert. */
const ROUTING = { annotators_per_item: 2, conflict_min_margin: 2 };

beforeAll(async () => {
  [tdb, env] = await Promise.all([createTestDatabase(), startTestTemporal()]);
  const workers: Worker[] = await buildWorkers(config, tdb.db, env.nativeConnection, await testWorkflowBundle());
  const stop = new Promise<void>((resolve) => (stopWorkers = resolve));
  workersDone = Promise.all(workers.map((w) => w.runUntil(stop))).then(() => undefined);
  deadConnection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 500, interceptors: [] });
  deadClient = new Client({ connection: deadConnection });
});
afterAll(async () => {
  stopWorkers?.();
  await workersDone;
  await deadConnection?.close().catch(() => undefined);
  await Promise.all([env?.teardown(), tdb?.drop()]);
});


async function project(members: [string, string][]) {
  const p = await seedProject(tdb.db, { routing: ROUTING });
  for (let i = 0; i < members.length; i++) {
    await tdb.db('project_members').insert({ tenant_id: p.tenantId, project_id: p.projectId, user_id: members[i][0], role: members[i][1], created_at: new Date(Date.now() + i) });
  }
  return p;
}

/** A review task of `itemIds` assigned to `assignee`, once its workflow has assigned it. */
async function reviewTask(p: { tenantId: string; projectId: string }, itemIds: string[], assignee: string) {
  const t = await startTask(tdb.db, env.client, config, { ...p, kind: 'review', itemIds, assigneeId: assignee, createdBy: 'test', source: 'api' });
  const handle = env.client.workflow.getHandle(t.workflowId);
  await handle.executeUpdate(awaitAssignmentUpdate);
  return { ...t, handle };
}

const decide = (t: Awaited<ReturnType<typeof reviewTask>>, userId: string, label: string, itemIds?: string[]) =>
  t.handle.executeUpdate(submitReviewUpdate, { args: [{ userId, isManager: false, decision: 'modify', value: { label }, itemIds }] });

/** One attempt of an activity, run with `client` as its Temporal client (the failure log muted). */
const activityEnv = (client: Client) =>
  new MockActivityEnvironment({ taskQueue: config.TEMPORAL_TASK_QUEUE }, { client, logger: new DefaultLogger('ERROR', () => undefined) });

async function runsOf(workflowId: string): Promise<string[]> {
  const runs: string[] = [];
  for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push(wf.runId);
  return runs;
}

const FAIL_CONFLICT_INSERT = `
  CREATE FUNCTION fail_conflict_insert() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN RAISE EXCEPTION 'injected fault: conflicts insert fails'; END $$;
  CREATE TRIGGER fail_conflict_insert BEFORE INSERT ON conflicts FOR EACH ROW EXECUTE FUNCTION fail_conflict_insert();`;
const HEAL_CONFLICT_INSERT = 'DROP TRIGGER fail_conflict_insert ON conflicts; DROP FUNCTION fail_conflict_insert();';

test('(a) no API process: submitReview updates sent with the Temporal client open the conflict and start its workflow', async () => {
  const p = await project([['r1', 'reviewer'], ['r2', 'reviewer'], ['boss', 'manager']]);
  const [x, y] = await seedItems(tdb.db, p.tenantId, p.projectId, ['x', 'y']);
  const t1 = await reviewTask(p, [x, y], 'r1');
  const t2 = await reviewTask(p, [x, y], 'r2');

  expect((await decide(t1, 'r1', 'positive')).conflicts).toEqual([]);
  const onX = await decide(t2, 'r2', 'negative', [x]);
  expect(onX.conflicts).toEqual([{ itemId: x, conflictId: expect.any(String), created: true }]);
  expect((await decide(t2, 'r2', 'positive', [y])).conflicts).toEqual([]); // agreement: no conflict

  const row = await tdb.db('conflicts').where({ item_id: x }).first();
  expect(row).toMatchObject({ id: onX.conflicts[0].conflictId, status: 'open', detected_by: 'submission', workflow_id: `conflict/${p.tenantId}/${row.id}` });
  expect(row.workflow_started_at).not.toBeNull();
  expect(row.inputs.map((i: { annotator_id: string }) => i.annotator_id).sort()).toEqual(['r1', 'r2']);
  expect(await tdb.db('conflicts').where({ item_id: y }).first()).toBeUndefined();
  const described = await env.client.workflow.getHandle(row.workflow_id).describe();
  expect(described.type).toBe('conflictResolution');
  // The workflow really runs: it makes the expert task (a 1-1 tie is not auto-resolved).
  const withTask = await waitFor(() => tdb.db('conflicts').where({ id: row.id }).first(), (c) => Boolean(c.task_id));
  expect((await tdb.db('tasks').where({ id: withTask.task_id }).first()).kind).toBe('expert');
});

test('(a) the decision activity fails to start the workflow after its commit: its retry starts it, once', async () => {
  const p = await project([['r1', 'reviewer'], ['r2', 'reviewer'], ['boss', 'manager']]);
  const [z] = await seedItems(tdb.db, p.tenantId, p.projectId, ['z']);
  const t1 = await reviewTask(p, [z], 'r1');
  const t2 = await reviewTask(p, [z], 'r2');
  await decide(t1, 'r1', 'positive');

  const activities = createTaskActivities({ db: tdb.db });
  const input = { tenantId: p.tenantId, projectId: p.projectId, taskId: t2.taskId, kind: 'review' as const, userId: 'r2', decision: 'modify', value: { label: 'negative' }, itemIds: [z], leadTimeMs: null };
  // Attempt 1: the transaction commits (annotation + conflict), then Temporal is unreachable.
  await expect(activityEnv(deadClient).run(activities.recordTaskDecision, input)).rejects.toThrow();
  const committed = await tdb.db('conflicts').where({ item_id: z }).first();
  expect(committed).toMatchObject({ status: 'open', workflow_started_at: null });
  expect(await tdb.db('annotations').where({ task_id: t2.taskId }).count({ n: '*' }).first()).toEqual({ n: '1' });
  await expect(env.client.workflow.getHandle(committed.workflow_id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

  // Attempt 2 (Temporal's retry): nothing is written twice, the same conflict's workflow starts.
  const retried: RecordedDecision = await activityEnv(env.client).run(activities.recordTaskDecision, input);
  expect(retried.conflicts).toEqual([{ itemId: z, conflictId: committed.id, created: false }]);
  expect(await tdb.db('annotations').where({ task_id: t2.taskId }).count({ n: '*' }).first()).toEqual({ n: '1' });
  expect(await tdb.db('conflicts').where({ item_id: z }).count({ n: '*' }).first()).toEqual({ n: '1' });
  expect((await tdb.db('conflicts').where({ id: committed.id }).first()).workflow_started_at).not.toBeNull();
  await waitFor(() => tdb.db('conflicts').where({ id: committed.id }).first(), (c) => Boolean(c.task_id));
  expect(await runsOf(committed.workflow_id)).toHaveLength(1);
});

test('validation: a conflict whose start failed is started by the retry of openQualityConflicts', async () => {
  const p = await project([['boss', 'manager']]);
  const [item] = await seedItems(tdb.db, p.tenantId, p.projectId, ['validated']);
  for (const [who, label] of [['v1', 'positive'], ['v2', 'negative']]) {
    await tdb.db('annotations').insert({ id: crypto.randomUUID(), tenant_id: p.tenantId, project_id: p.projectId, item_id: item, source: 'human', annotator_id: who, value: JSON.stringify({ label }), status: 'submitted' });
  }
  const { openQualityConflicts } = createValidationActivities({ db: tdb.db });
  const input = { tenantId: p.tenantId, projectId: p.projectId, itemIds: [item], taskQueue: config.TEMPORAL_TASK_QUEUE };
  await expect(activityEnv(deadClient).run(openQualityConflicts, input)).rejects.toThrow();
  const row = await tdb.db('conflicts').where({ item_id: item }).first();
  expect(row).toMatchObject({ detected_by: 'validation', status: 'open', workflow_started_at: null });
  await activityEnv(env.client).run(openQualityConflicts, input);
  expect((await tdb.db('conflicts').where({ id: row.id }).first()).workflow_started_at).not.toBeNull();
  expect(await tdb.db('conflicts').where({ item_id: item }).count({ n: '*' }).first()).toEqual({ n: '1' });
  await waitFor(() => tdb.db('conflicts').where({ id: row.id }).first(), (c) => Boolean(c.task_id));
  expect(await runsOf(row.workflow_id)).toHaveLength(1);
});

describe('(b) task-less /submit', () => {
  let deadApi: TestApi;
  let liveApi: TestApi;
  beforeAll(async () => {
    deadApi = await startTestApi({ db: tdb.db }); // its Temporal client points at a closed port
    liveApi = await startTestApi({ db: tdb.db, temporalClient: env.client });
  });
  afterAll(async () => {
    await Promise.all([deadApi?.close(), liveApi?.close()]);
  });
  const submit = async (api: TestApi, tenantId: string, who: string, itemId: string, label: string) => {
    const res = await api.request('/api/v1/annotation/submit', {
      method: 'POST',
      token: tokenFor({ tenantId, sub: who, roles: ['annotator'] }),
      json: { item_id: itemId, value: { label } },
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  test('the workflow start fails after commit: annotation and conflict are committed together, the sweep starts the workflow exactly once', async () => {
    const p = await project([['boss', 'manager']]);
    const [item] = await seedItems(tdb.db, p.tenantId, p.projectId, ['swept']);
    expect((await submit(deadApi, p.tenantId, 'a1', item, 'positive')).body.conflict).toBeNull();
    const second = await submit(deadApi, p.tenantId, 'a2', item, 'negative');
    expect(second.status).toBe(201);
    expect(second.body.conflict).toEqual({ conflict_id: expect.any(String), created: true });

    const conflictId = second.body.conflict.conflict_id as string;
    const row = await tdb.db('conflicts').where({ id: conflictId }).first();
    expect(row).toMatchObject({ item_id: item, status: 'open', workflow_started_at: null });
    expect(row.inputs.map((i: { annotation_id: string }) => i.annotation_id)).toContain(second.body.annotation_id);
    expect(await tdb.db('annotations').where({ id: second.body.annotation_id }).first()).toMatchObject({ annotator_id: 'a2', value: { label: 'negative' } });
    await expect(env.client.workflow.getHandle(row.workflow_id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    // A young conflict is left to its creator; an old one is the sweep's.
    expect(await sweepUnstartedConflicts(tdb.db, env.client, config)).toEqual({ started: 0, failed: 0 });
    expect(await sweepUnstartedConflicts(tdb.db, deadClient, config, { minAgeMs: 0 })).toEqual({ started: 0, failed: 1 });
    await tdb.db('conflicts').where({ id: conflictId }).update({ created_at: tdb.db.raw("now() - interval '1 minute'") });
    const stop = scheduleConflictSweep(tdb.db, env.client, config, quiet, 200);
    try {
      await waitFor(() => tdb.db('conflicts').where({ id: conflictId }).first(), (c) => c.workflow_started_at !== null);
    } finally {
      stop();
    }
    expect(await sweepUnstartedConflicts(tdb.db, env.client, config, { minAgeMs: 0 })).toEqual({ started: 0, failed: 0 });
    await waitFor(() => tdb.db('conflicts').where({ id: conflictId }).first(), (c) => Boolean(c.task_id));
    expect(await runsOf(row.workflow_id)).toHaveLength(1);
  });

  test('a failure before commit leaves neither annotation nor conflict (/submit and the decision activity)', async () => {
    const p = await project([['r1', 'reviewer'], ['r2', 'reviewer'], ['boss', 'manager']]);
    const [item, reviewed] = await seedItems(tdb.db, p.tenantId, p.projectId, ['rolled back', 'reviewed']);
    expect((await submit(liveApi, p.tenantId, 'a1', item, 'positive')).status).toBe(201);
    const t1 = await reviewTask(p, [reviewed], 'r1');
    const t2 = await reviewTask(p, [reviewed], 'r2');
    await decide(t1, 'r1', 'positive');

    await tdb.db.raw(FAIL_CONFLICT_INSERT);
    let healed = false;
    try {
      const failed = await submit(liveApi, p.tenantId, 'a2', item, 'negative');
      expect(failed.status).toBe(500);
      expect(await tdb.db('annotations').where({ item_id: item, annotator_id: 'a2' }).count({ n: '*' }).first()).toEqual({ n: '0' });
      expect(await tdb.db('audit_log').where({ project_id: p.projectId, actor: 'a2' }).count({ n: '*' }).first()).toEqual({ n: '0' });
      expect(await tdb.db('conflicts').where({ item_id: item }).count({ n: '*' }).first()).toEqual({ n: '0' });

      // The decision's activity fails the same way and is retried by Temporal; meanwhile nothing of it is committed.
      const pending = decide(t2, 'r2', 'negative');
      await new Promise((r) => setTimeout(r, 2500));
      expect(await tdb.db('annotations').where({ task_id: t2.taskId }).count({ n: '*' }).first()).toEqual({ n: '0' });
      expect(await tdb.db('conflicts').where({ item_id: reviewed }).count({ n: '*' }).first()).toEqual({ n: '0' });
      await tdb.db.raw(HEAL_CONFLICT_INSERT);
      healed = true;
      const verdict = await pending;
      expect(verdict.conflicts).toEqual([{ itemId: reviewed, conflictId: expect.any(String), created: true }]);
      expect(await tdb.db('annotations').where({ task_id: t2.taskId }).count({ n: '*' }).first()).toEqual({ n: '1' });
      const row = await tdb.db('conflicts').where({ item_id: reviewed }).first();
      expect(row.workflow_started_at).not.toBeNull();
      const history = await t2.handle.fetchHistory();
      const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
      expect(Math.max(...attempts)).toBeGreaterThanOrEqual(2);
    } finally {
      if (!healed) await tdb.db.raw(HEAL_CONFLICT_INSERT);
    }
    // Healed, the same /submit commits both.
    const ok = await submit(liveApi, p.tenantId, 'a2', item, 'negative');
    expect(ok.status).toBe(201);
    expect(ok.body.conflict).toEqual({ conflict_id: expect.any(String), created: true });
  });
});

test('(c) concurrent disagreeing submissions (task decisions and /submit at once) open exactly one conflict per item', async () => {
  const reviewers = Array.from({ length: 6 }, (_, i) => `r${i}`);
  const p = await project([...reviewers.map((r) => [r, 'reviewer'] as [string, string]), ['boss', 'manager']]);
  const api = await startTestApi({ db: tdb.db, temporalClient: env.client });
  let pairFigures: unknown = null;
  const figures: { item: number; submissions: number; reported: number; conflictRows: number; created: number; distinctIds: number; workflows: number }[] = [];
  try {
    const items = await seedItems(tdb.db, p.tenantId, p.projectId, ['c0', 'c1', 'c2']);
    for (let n = 0; n < items.length; n++) {
      const item = items[n];
      const tasks = await Promise.all(reviewers.map((r) => reviewTask(p, [item], r)));
      const labels = ['positive', 'negative'];
      const viaTasks = tasks.map((t, i) => decide(t, reviewers[i], labels[i % 2]).then((v) => v.conflicts.map((c) => ({ id: c.conflictId, created: c.created }))));
      const viaSubmit = Array.from({ length: 6 }, (_, i) =>
        api
          .request('/api/v1/annotation/submit', {
            method: 'POST',
            token: tokenFor({ tenantId: p.tenantId, sub: `a${i}`, roles: ['annotator'] }),
            json: { item_id: item, value: { label: labels[(i + 1) % 2] } },
          })
          .then(async (res) => {
            expect(res.status).toBe(201);
            const c = ((await res.json()) as any).conflict;
            return c ? [{ id: c.conflict_id as string, created: c.created as boolean }] : [];
          }),
      );
      const results = (await Promise.all([...viaTasks, ...viaSubmit])).flat();
      const rows = await tdb.db('conflicts').where({ item_id: item });
      expect(rows).toHaveLength(1);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id))).toEqual(new Set([rows[0].id]));
      const workflows = await waitFor(async () => {
        const ids: string[] = [];
        for await (const wf of env.client.workflow.list({ query: `AnnotationProjectId = '${p.projectId}' AND WorkflowType = 'conflictResolution'` })) ids.push(wf.workflowId);
        return ids;
      }, (ids) => ids.length >= n + 1);
      expect(workflows).toHaveLength(n + 1);
      figures.push({ item: n, submissions: 12, reported: results.length, conflictRows: rows.length, created: results.filter((r) => r.created).length, distinctIds: new Set(results.map((r) => r.id)).size, workflows: workflows.length - n });
    }
    // Pairs: the item's first two annotations, disagreeing, at once. Neither transaction can see
    // the other's uncommitted row; the item lock makes the second read after the first commits.
    const PAIRS = 10;
    const pairItems = await seedItems(tdb.db, p.tenantId, p.projectId, Array.from({ length: 2 * PAIRS }, (_, i) => `pair ${i}`));
    const submitOne = (who: string, item: string, label: string) =>
      api.request('/api/v1/annotation/submit', { method: 'POST', token: tokenFor({ tenantId: p.tenantId, sub: who, roles: ['annotator'] }), json: { item_id: item, value: { label } } }).then((r) => r.status);
    const pairTasks = await Promise.all(pairItems.slice(PAIRS).map((item) => reviewTask(p, [item], 'r0')));
    await Promise.all(pairItems.map((item, i) =>
      i < PAIRS
        ? Promise.all([submitOne('p1', item, 'positive'), submitOne('p2', item, 'negative')])
        : Promise.all([decide(pairTasks[i - PAIRS], 'r0', 'positive'), submitOne('p2', item, 'negative')]),
    ));
    const perItem = await tdb.db('conflicts').whereIn('item_id', pairItems).groupBy('item_id').select('item_id', tdb.db.raw('count(*)::int AS n'));
    pairFigures = { pairs: 2 * PAIRS, itemsWithConflict: perItem.length, maxPerItem: Math.max(0, ...perItem.map((r: { n: number }) => r.n)) };
    expect(pairFigures).toEqual({ pairs: 2 * PAIRS, itemsWithConflict: 2 * PAIRS, maxPerItem: 1 });
  } finally {
    await api.close();
    console.log(`concurrent disagreeing submissions: ${JSON.stringify(figures)}; first-two-at-once pairs: ${JSON.stringify(pairFigures)}`);
  }
});

test('`anno worker` sweeps: a conflict committed without its workflow is started by a separate worker process', async () => {
  const p = await project([['boss', 'manager']]);
  const [item] = await seedItems(tdb.db, p.tenantId, p.projectId, ['worker sweep']);
  const deps = { db: tdb.db, client: deadClient, config };
  await submitAnnotation(deps, { ...p, itemId: item, annotatorId: 'w1', value: { label: 'positive' }, leadTimeMs: null });
  const { conflict } = await submitAnnotation(deps, { ...p, itemId: item, annotatorId: 'w2', value: { label: 'negative' }, leadTimeMs: null });
  expect(conflict).toMatchObject({ created: true, workflowStarted: false });
  await tdb.db('conflicts').where({ id: conflict!.conflictId }).update({ created_at: tdb.db.raw("now() - interval '1 minute'") });
  const child = spawnWorkerProcess({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: tdb.url, CONFLICT_SWEEP_INTERVAL_MS: '1000' });
  try {
    await waitFor(() => tdb.db('conflicts').where({ id: conflict!.conflictId }).first(), (c) => c.workflow_started_at !== null, 90_000);
  } finally {
    await stopProcess(child);
  }
  expect(await runsOf(conflict!.workflowId)).toHaveLength(1);
}, 120_000);
