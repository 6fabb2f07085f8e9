import { reviewDecisionMessage } from '../../src/tasks/ws-handlers';
import { tokenFor, type TestApi } from '../helpers/api';
import type { TestDatabase } from '../helpers/db';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

/**
 * A decision whose workflow cannot record it in time (its activity waits on a lock held by the
 * test) answers 503 DECISION_PENDING within DECISION_WAIT_MS instead of holding the request open;
 * sent again with the same idempotency_key it answers the first decision's outcome, and the
 * decision is recorded exactly once. Real API, Temporal dev server, workers and PostgreSQL.
 */
let tdb: TestDatabase;
let api: TestApi;
let stack: TestStack;

const TENANT = 'acme-idem';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const rita = tokenFor({ tenantId: TENANT, sub: 'rita', roles: ['reviewer'] });
const WAIT_MS = 1500;

beforeAll(async () => {
  stack = await startTestStack({ DECISION_WAIT_MS: String(WAIT_MS) });
  ({ tdb, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

async function post(path: string, json: unknown, token = manager) {
  const res = await api.request(`/api/v1${path}`, { method: 'POST', token, json });
  return { status: res.status, body: (await res.json()) as any, headers: res.headers };
}

async function reviewTask(items: number) {
  const project = await post('/projects', { name: 'Idempotent', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } });
  const projectId = project.body.id as string;
  for (const [user_id, role] of [['rita', 'reviewer'], ['mia', 'manager']]) expect((await post(`/projects/${projectId}/members`, { user_id, role })).status).toBe(201);
  const created = await post(`/projects/${projectId}/items`, { items: Array.from({ length: items }, (_, i) => ({ data: { text: `text ${i}` } })) });
  const itemIds = created.body.item_ids as string[];
  const task = await post('/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds, kind: 'review', assignee_id: 'rita' });
  expect(task.status).toBe(201);
  return { projectId, itemIds, taskId: task.body.task_id as string };
}

const decisionsOf = (taskId: string) => tdb.db('audit_log').where({ entity_type: 'task', entity_id: taskId, action: 'task.decision' }).pluck('details');

test('a decision stalled behind a held lock answers 503 DECISION_PENDING in time; the keyed retry answers its outcome, recorded once', async () => {
  const { itemIds, taskId } = await reviewTask(2);
  const decide = (body: Record<string, unknown>) => post(`/annotation/tasks/${taskId}/decision`, body, rita);

  // Hold the annotations table: the decision's activity cannot write until the lock goes.
  const held = await tdb.db.transaction();
  await held.raw('LOCK TABLE annotations IN EXCLUSIVE MODE');
  let released = false;
  try {
    const started = Date.now();
    const pending = await decide({ decision: 'modify', value: { label: 'neutral' }, item_ids: [itemIds[0]], idempotency_key: 'first-decision-0001' });
    const waited = Date.now() - started;
    expect(pending.status).toBe(503);
    expect(pending.body.error.code).toBe('DECISION_PENDING');
    expect(pending.body.error.message).toMatch(/same idempotency_key/);
    expect(pending.headers.get('retry-after')).toBe('1');
    expect(waited).toBeGreaterThanOrEqual(WAIT_MS - 100);

    // Meanwhile a second decider (no key) on the same item is refused: the first one is in flight.
    const second = await decide({ decision: 'approve', value: { label: 'positive' }, item_ids: [itemIds[0]] });
    expect(second.status).toBe(409);

    await held.rollback();
    released = true;
  } finally {
    if (!released) await held.rollback();
  }

  // The retry joins the first update (a different body changes nothing: the key names the decision).
  const retried = await decide({ decision: 'modify', value: { label: 'neutral' }, item_ids: [itemIds[0]], idempotency_key: 'first-decision-0001' });
  expect(retried.status).toBe(200);
  expect(retried.body).toMatchObject({ decision: 'modify', item_ids: [itemIds[0]], decided_by: 'rita', remaining: 1 });
  const again = await decide({ decision: 'reject', item_ids: [itemIds[0]], idempotency_key: 'first-decision-0001' });
  expect(again.status).toBe(200);
  expect(again.body.annotation_ids).toEqual(retried.body.annotation_ids);

  const human = await tdb.db('annotations').where({ task_id: taskId, source: 'human' });
  expect(human.map((a) => [a.item_id, a.value.label])).toEqual([[itemIds[0], 'neutral']]);
  expect((await decisionsOf(taskId)).map((d: any) => d.decision)).toEqual(['modify']);
});

test('the decision that closes its task, sent again with its key, answers the same verdict (not a 409)', async () => {
  const { itemIds, taskId } = await reviewTask(1);
  const body = { decision: 'modify', value: { label: 'negative' }, idempotency_key: 'closing-decision-01' };
  const first = await post(`/annotation/tasks/${taskId}/decision`, body, rita);
  expect(first.status).toBe(200);
  expect(first.body.remaining).toBe(0);
  await waitFor(() => tdb.db('tasks').where({ id: taskId }).first(), (t) => t.status === 'completed', 10_000, 'the task completes');

  const retried = await post(`/annotation/tasks/${taskId}/decision`, body, rita);
  expect(retried.status).toBe(200);
  expect(retried.body.annotation_ids).toEqual(first.body.annotation_ids);
  // Without the key the closed task is a 409, as before.
  expect((await post(`/annotation/tasks/${taskId}/decision`, { decision: 'approve', value: { label: 'negative' } }, rita)).status).toBe(409);
  expect(await tdb.db('annotations').where({ task_id: taskId, source: 'human', item_id: itemIds[0] }).count({ n: '*' })).toEqual([{ n: '1' }]);
});

test('an idempotency_key is validated, and a free annotation (no task) refuses one', async () => {
  const { itemIds, taskId } = await reviewTask(1);
  const bad = await post(`/annotation/tasks/${taskId}/decision`, { decision: 'approve', value: { label: 'positive' }, idempotency_key: 'has spaces!' }, rita);
  expect(bad.status).toBe(422);
  expect(bad.body.error.details[0].field).toBe('idempotency_key');
  const free = await post('/annotation/submit', { item_id: itemIds[0], value: { label: 'positive' }, idempotency_key: 'free-annotation-1' }, rita);
  expect(free.status).toBe(422);
  expect(free.body.error.details[0]).toMatchObject({ field: 'idempotency_key', message: 'only with task_id' });
  expect(await tdb.db('annotations').where({ item_id: itemIds[0], source: 'human' }).count({ n: '*' })).toEqual([{ n: '0' }]);
});

test('the WebSocket review_decision takes the same key: its retry answers the first verdict, the REST twin with that key too', async () => {
  const { taskId } = await reviewTask(1);
  const ctx = { deps: api.deps, principal: { userId: 'rita', tenantId: TENANT, roles: ['reviewer' as const] } };
  const message = { task_id: taskId, decision: 'modify', value: { label: 'positive' }, idempotency_key: 'socket-decision-01' };
  const first = await reviewDecisionMessage(ctx, message);
  const again = await reviewDecisionMessage(ctx, message);
  expect(again.annotation_ids).toEqual(first.annotation_ids);
  const rest = await post(`/annotation/tasks/${taskId}/decision`, { decision: 'modify', value: { label: 'positive' }, idempotency_key: 'socket-decision-01' }, rita);
  expect(rest.status).toBe(200);
  expect(rest.body.annotation_ids).toEqual(first.annotation_ids);
  await expect(reviewDecisionMessage(ctx, { ...message, idempotency_key: 'bad key' })).rejects.toMatchObject({ status: 422 });
  expect((await decisionsOf(taskId)).length).toBe(1);
});
