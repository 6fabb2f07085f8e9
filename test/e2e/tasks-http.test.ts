import { submitReviewDecision } from '../../src/tasks/decisions';
import { reviewDecisionMessage } from '../../src/tasks/ws-handlers';
import { tokenFor, type TestApi } from '../helpers/api';
import type { TestDatabase } from '../helpers/db';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

/**
 * Tasks, review decisions, conflicts and team progress through HTTP: the real API, a real
 * Temporal dev server running this service's workers, real PostgreSQL.
 */
let tdb: TestDatabase;
let api: TestApi;
let stack: TestStack;

const TENANT = 'acme-tasks';
const tok = (sub: string, roles: ('manager' | 'reviewer' | 'annotator' | 'admin')[] = ['reviewer']) => tokenFor({ tenantId: TENANT, sub, roles });
const manager = tok('mia', ['manager']);

beforeAll(async () => {
  stack = await startTestStack({});
  ({ tdb, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

async function post(path: string, json: unknown, token = manager) {
  const res = await api.request(`/api/v1${path}`, { method: 'POST', token, json });
  return { status: res.status, body: (await res.json()) as any, res };
}
async function get(path: string, token = manager) {
  const res = await api.request(`/api/v1${path}`, { token });
  return { status: res.status, body: (await res.json()) as any };
}

async function setup(opts: { members: [string, string][]; items?: number; routing?: Record<string, unknown> }) {
  const project = await post('/projects', {
    name: 'Reviews',
    label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] },
    ...(opts.routing ? { routing: opts.routing } : {}),
  });
  expect(project.status).toBe(201);
  const projectId = project.body.id as string;
  for (const [user_id, role] of opts.members) {
    expect((await post(`/projects/${projectId}/members`, { user_id, role })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 5)); // distinct join times: a stable member order
  }
  const items = await post(`/projects/${projectId}/items`, {
    items: Array.from({ length: opts.items ?? 3 }, (_, i) => ({ data: { text: `text ${i}` } })),
  });
  expect(items.status).toBe(201);
  return { projectId, itemIds: items.body.item_ids as string[] };
}


test('assign: least_loaded and round_robin pick eligible members; list and detail', async () => {
  const { projectId, itemIds } = await setup({ members: [['r1', 'reviewer'], ['r2', 'reviewer'], ['r3', 'reviewer'], ['a1', 'annotator'], ['mia', 'manager']] });
  const assign = (body: Record<string, unknown>) => post('/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds.slice(0, 1), kind: 'review', ...body });

  const t1 = await assign({ strategy: 'least_loaded' });
  expect(t1.status).toBe(201);
  expect(t1.body).toMatchObject({ assignee_id: 'r1', workflow_id: `review/${TENANT}/${t1.body.task_id}`, status: 'open', kind: 'review' });
  expect(new Date(t1.body.due_at).getTime()).toBeGreaterThan(Date.now() + 23 * 3600 * 1000);
  expect((await assign({ strategy: 'least_loaded' })).body.assignee_id).toBe('r2');
  expect((await assign({ strategy: 'least_loaded' })).body.assignee_id).toBe('r3');
  // round robin continues after the last assignee (r3) → r1, then r2.
  expect((await assign({ strategy: 'round_robin' })).body.assignee_id).toBe('r1');
  expect((await assign({ strategy: 'round_robin' })).body.assignee_id).toBe('r2');
  // annotate tasks go to annotators; an explicit assignee must be an eligible member.
  expect((await assign({ kind: 'annotate' })).body.assignee_id).toBe('a1');
  const bad = await assign({ assignee_id: 'a1' });
  expect(bad.status).toBe(422);
  expect(bad.body.error.details[0].field).toBe('assignee_id');
  expect((await post('/annotation/tasks/assign', { project_id: projectId, item_ids: [crypto.randomUUID()], kind: 'review' })).status).toBe(422);
  expect((await assign({})).status).toBe(201);
  expect((await post('/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds, kind: 'review' }, tok('r1'))).status).toBe(403);

  const list = await get(`/annotation/tasks?project_id=${projectId}&assignee_id=r2&status=open`);
  expect(list.status).toBe(200);
  expect(list.body.total).toBe(2);
  expect(list.body.items.every((t: any) => t.assignee_id === 'r2' && t.status === 'open')).toBe(true);
  const detail = await get(`/annotation/tasks/${t1.body.task_id}`, tok('r1'));
  expect(detail.body).toMatchObject({ task_id: t1.body.task_id, assignee_id: 'r1', kind: 'review', item_ids: itemIds.slice(0, 1), attempts: 1, overdue: false });
  expect((await get(`/annotation/tasks/${t1.body.task_id}`, tokenFor({ tenantId: 'other', sub: 'x', roles: ['admin'] }))).status).toBe(404);
  const events = await tdb.db('events').where({ project_id: projectId, type: 'review.assigned' });
  expect(events.length).toBe(7);
});

test('only the assignee (or a manager) decides; a decided task is a 409; outcome recorded', async () => {
  const { projectId, itemIds } = await setup({ members: [['r1', 'reviewer'], ['r2', 'reviewer']] });
  const created = await post('/annotation/review-tasks', { project_id: projectId, item_ids: itemIds, reviewer_id: 'r1' });
  expect(created.status).toBe(201);
  expect(created.body.tasks).toHaveLength(1);
  const task = created.body.tasks[0];
  expect(task.assignee_id).toBe('r1');
  const decide = (token: string, body: Record<string, unknown>) => post(`/annotation/tasks/${task.task_id}/decision`, body, token);

  expect((await decide(tok('r2'), { decision: 'approve' })).status).toBe(403);
  const invalid = await decide(tok('r1'), { decision: 'modify', value: { label: 'great' } });
  expect(invalid.status).toBe(422);
  expect((await decide(tok('r1'), { decision: 'modify' })).status).toBe(422);

  // One item through /submit (the workflow's verdict comes back), the rest approved.
  const sub = await post('/annotation/submit', { item_id: itemIds[0], task_id: task.task_id, value: { label: 'negative' }, lead_time_ms: 1200 }, tok('r1'));
  expect(sub.status).toBe(201);
  expect(sub.body.verdict).toMatchObject({ accepted: true, decision: 'modify', remaining: 2, item_ids: [itemIds[0]] });
  expect(sub.body.annotation_id).toBe(sub.body.verdict.annotation_ids[itemIds[0]]);
  const again = await post('/annotation/submit', { item_id: itemIds[0], task_id: task.task_id, value: { label: 'positive' } }, tok('r1'));
  expect(again.status).toBe(409);

  const ok = await decide(tok('r1'), { decision: 'reject', value: { label: 'neutral' } });
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ accepted: true, remaining: 0, decided_by: 'r1' });
  expect(ok.body.item_ids.sort()).toEqual(itemIds.slice(1).sort());
  expect((await decide(tok('r1'), { decision: 'approve' })).status).toBe(409);

  const done = await waitFor(() => get(`/annotation/tasks/${task.task_id}`), (r) => r.body.status === 'completed');
  expect(done.body.result.decisions).toEqual({ modified: 1, rejected: 2 });
  const human = await tdb.db('annotations').where({ task_id: task.task_id, source: 'human' });
  expect(human).toHaveLength(3);
  expect(new Set(human.map((a) => a.annotator_id))).toEqual(new Set(['r1']));
  const audit = await tdb.db('audit_log').where({ entity_type: 'task', entity_id: task.task_id }).pluck('action');
  expect(audit).toEqual(expect.arrayContaining(['task.assigned', 'task.decision', 'task.completed']));
  const completed = await tdb.db('events').where({ project_id: projectId, type: 'review.completed' });
  expect(completed).toHaveLength(1);
  expect((await decide(tok('r1'), { decision: 'approve' })).status).toBe(409);
});

test('two reviewers deciding at once: exactly one is accepted (the function the WebSocket hub uses too)', async () => {
  const { projectId, itemIds } = await setup({ members: [['r1', 'reviewer'], ['boss', 'manager']] });
  for (let round = 0; round < 3; round++) {
    const t = await post('/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds, kind: 'review', assignee_id: 'r1' });
    expect(t.status).toBe(201);
    const results = await Promise.allSettled([
      post(`/annotation/tasks/${t.body.task_id}/decision`, { decision: 'approve' }, tok('r1')),
      post(`/annotation/tasks/${t.body.task_id}/decision`, { decision: 'modify', value: { label: 'neutral' } }, tok('mia', ['manager'])),
      submitReviewDecision(api.deps, { userId: 'boss', tenantId: TENANT, roles: ['reviewer'] }, { task_id: t.body.task_id, decision: 'reject' }).then(
        () => ({ status: 200 }),
        (err) => ({ status: err.status as number }),
      ),
    ]);
    const statuses = results.map((r) => (r.status === 'fulfilled' ? r.value.status : 500)).sort();
    expect(statuses).toEqual([200, 409, 409]);
    const rows = await tdb.db('annotations').where({ task_id: t.body.task_id });
    expect(rows).toHaveLength(itemIds.length);
    expect(new Set(rows.map((r) => r.annotator_id)).size).toBe(1);
  }
});

test('a missed deadline reassigns to another reviewer, twice, then escalates to a manager', async () => {
  const { projectId, itemIds } = await setup({ members: [['r1', 'reviewer'], ['r2', 'reviewer'], ['r3', 'reviewer'], ['boss', 'manager']] });
  const t = await post('/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds.slice(0, 2), kind: 'review', due_in_seconds: 1 });
  expect(t.status).toBe(201);
  expect(t.body.assignee_id).toBe('r1');
  const escalated = await waitFor(() => get(`/annotation/tasks/${t.body.task_id}`), (r) => r.body.status === 'escalated', 30_000);
  expect(escalated.body).toMatchObject({ assignee_id: 'boss', assignees: ['r1', 'r2', 'r3', 'boss'], attempts: 4, due_at: null });
  const events = await tdb.db('events').where({ project_id: projectId, type: 'review.assigned' }).orderBy('id');
  expect(events.map((e) => [e.payload.assignee_id, e.payload.escalated])).toEqual([
    ['r1', false],
    ['r2', false],
    ['r3', false],
    ['boss', true],
  ]);
  // The earlier assignee may no longer decide; the manager it escalated to may.
  expect((await post(`/annotation/tasks/${t.body.task_id}/decision`, { decision: 'approve' }, tok('r1'))).status).toBe(403);
  const ok = await post(`/annotation/tasks/${t.body.task_id}/decision`, { decision: 'modify', value: { label: 'positive' } }, tok('boss', ['reviewer']));
  expect(ok.status).toBe(200);
  expect(ok.body).toMatchObject({ remaining: 0, decided_by: 'boss' });
  await waitFor(() => get(`/annotation/tasks/${t.body.task_id}`), (r) => r.body.status === 'completed');
}, 60_000);

test('conflicts: opened once under concurrent submissions; majority; tie rule; expert resolution through HTTP; progress', async () => {
  const { projectId, itemIds } = await setup({
    members: [['a1', 'annotator'], ['a2', 'annotator'], ['a3', 'annotator'], ['boss', 'manager']],
    items: 4,
    routing: { annotators_per_item: 3 },
  });
  const submit = (who: string, itemId: string, label: string) =>
    post('/annotation/submit', { item_id: itemId, value: { label }, lead_time_ms: 500 }, tok(who, ['annotator']));

  // Item 0: three different labels, two of them at once → one conflict; a 1-1-1 tie → expert.
  expect((await submit('a1', itemIds[0], 'positive')).body.conflict).toBeNull();
  const racing = await Promise.all([submit('a2', itemIds[0], 'negative'), submit('a3', itemIds[0], 'neutral')]);
  expect(racing.map((r) => r.status)).toEqual([201, 201]);
  const ids = new Set(racing.map((r) => r.body.conflict?.conflict_id).filter(Boolean));
  expect(ids.size).toBe(1);
  expect(racing.filter((r) => r.body.conflict?.created).length).toBe(1);
  expect(await tdb.db('conflicts').where({ item_id: itemIds[0] }).count({ n: '*' }).first()).toEqual({ n: '1' });
  const conflictId = [...ids][0] as string;
  const withTask = await waitFor(() => tdb.db('conflicts').where({ id: conflictId }).first(), (c) => Boolean(c.task_id));
  const expertTask = await waitFor(() => get(`/annotation/tasks/${withTask.task_id}`), (r) => r.body.assignee_id !== null);
  expect(expertTask.body).toMatchObject({ kind: 'expert', assignee_id: 'boss', conflict_id: conflictId, status: 'open' });

  // Item 1: 2–1 → majority vote resolves it automatically.
  await submit('a1', itemIds[1], 'positive');
  expect((await submit('a2', itemIds[1], 'positive')).body.conflict).toBeNull();
  const maj = await submit('a3', itemIds[1], 'negative');
  const majority = await waitFor(() => tdb.db('conflicts').where({ id: maj.body.conflict.conflict_id }).first(), (c) => c.status !== 'open');
  expect(majority).toMatchObject({ status: 'auto_resolved', method: 'majority_vote', resolved_value: { label: 'positive' }, resolved_by: 'system' });

  // Item 2: a 1–1 tie with margin 0 → still an expert. Issue 12 changed this: it used to be
  // auto_resolved to 'negative', the first label in the label order ("tie broken by label
  // order"); margin 0 now resolves a strict winner, never a tie.
  await tdb.db('projects').where({ id: projectId }).update({ routing: tdb.db.raw(`routing || '{"conflict_min_margin": 0}'::jsonb`) });
  await submit('a1', itemIds[2], 'neutral');
  const tie = await submit('a2', itemIds[2], 'negative');
  const tieId = tie.body.conflict.conflict_id as string;
  const tied = await waitFor(() => tdb.db('conflicts').where({ id: tieId }).first(), (c) => Boolean(c.task_id));
  expect(tied).toMatchObject({ status: 'open', resolved_value: null });
  const tieTask = await waitFor(() => get(`/annotation/tasks/${tied.task_id}`), (r) => r.body.assignee_id !== null);
  expect(tieTask.body).toMatchObject({ kind: 'expert', assignee_id: 'boss', conflict_id: tieId, status: 'open' });
  const tieDetected = await tdb.db('events').where({ project_id: projectId, type: 'conflict.detected' }).whereRaw(`payload->>'conflict_id' = ?`, [tieId]).first();
  expect(tieDetected.payload.suggested).toMatchObject({ method: 'majority_vote', value: null, margin: 0 });

  // The expert resolution of item 0.
  const resolve = (token: string, body: Record<string, unknown>) => post('/annotation/conflicts/resolve', { conflict_id: conflictId, ...body }, token);
  expect((await resolve(tok('a1', ['annotator']), { value: { label: 'positive' } })).status).toBe(403);
  expect((await resolve(tok('boss', ['reviewer']), { value: { label: 'great' } })).status).toBe(422);
  const resolved = await resolve(tok('boss', ['reviewer']), { value: { label: 'neutral' }, reason: 'guideline 3.2' });
  expect(resolved.status).toBe(200);
  expect(resolved.body).toMatchObject({ conflict_id: conflictId, status: 'resolved', method: 'expert', resolved_value: { label: 'neutral' }, resolved_by: 'boss', reason: 'guideline 3.2' });
  expect(resolved.body.inputs).toHaveLength(3);
  expect((await resolve(manager, { value: { label: 'positive' } })).status).toBe(409);
  const audit = await tdb.db('audit_log').where({ entity_type: 'conflict', entity_id: conflictId, action: 'conflict.resolved' }).first();
  expect(audit).toMatchObject({ actor: 'boss', details: { method: 'expert', value: { label: 'neutral' }, reason: 'guideline 3.2' } });
  expect(audit.details.inputs).toHaveLength(3);
  await waitFor(() => get(`/annotation/tasks/${withTask.task_id}`), (r) => r.body.status === 'completed');
  // The expert settles the tie of item 2.
  const settle = { conflict_id: tieId, value: { label: 'neutral' }, idempotency_key: 'settle-the-tie-01' };
  const settled = await post('/annotation/conflicts/resolve', settle, tok('boss', ['reviewer']));
  expect(settled.body).toMatchObject({ status: 'resolved', method: 'expert', resolved_value: { label: 'neutral' } });
  // Sent again with its key (an answer lost on the way): the same resolution, not a 409; another key is a 409.
  const resent = await post('/annotation/conflicts/resolve', settle, tok('boss', ['reviewer']));
  expect(resent.status).toBe(200);
  expect(resent.body).toEqual(settled.body);
  expect((await post('/annotation/conflicts/resolve', { ...settle, idempotency_key: 'settle-the-tie-02' }, tok('boss', ['reviewer']))).status).toBe(409);
  await waitFor(() => get(`/annotation/tasks/${tied.task_id}`), (r) => r.body.status === 'completed');

  const list = await get(`/annotation/conflicts/${projectId}?status=auto_resolved`);
  expect(list.body.total).toBe(1);
  expect((await get(`/annotation/conflicts/${projectId}`)).body.total).toBe(3);
  const types = await tdb.db('events').where({ project_id: projectId }).whereIn('type', ['conflict.detected', 'conflict.resolved']).pluck('type');
  expect(types.filter((t) => t === 'conflict.detected')).toHaveLength(3);
  expect(types.filter((t) => t === 'conflict.resolved')).toHaveLength(3);

  const progress = await get(`/annotation/progress/${projectId}`);
  expect(progress.status).toBe(200);
  expect(progress.body).toMatchObject({ items: 4, annotated: 3, reviewed: 0, conflicts: { open: 0, auto_resolved: 1, resolved: 2 }, tasks: { open: 0, completed: 2, overdue: 0 } });
  const a1 = progress.body.annotators.find((a: any) => a.annotator_id === 'a1');
  expect(a1).toMatchObject({ annotations: 3, items: 3, mean_lead_time_ms: 500 });
  expect(a1.throughput_per_hour).toBeGreaterThan(0);
});

test('an expert who misses the deadline is replaced, then the conflict task escalates; documented in OpenAPI', async () => {
  const { projectId, itemIds } = await setup({
    members: [['a1', 'annotator'], ['a2', 'annotator'], ['m1', 'manager'], ['m2', 'manager']],
    items: 1,
    routing: { annotators_per_item: 2 },
  });
  await tdb.db('projects').where({ id: projectId }).update({
    routing: tdb.db.raw(`routing || '{"conflict_expert_due_in_seconds": 1, "conflict_max_reassignments": 1}'::jsonb`),
  });
  await post('/annotation/submit', { item_id: itemIds[0], value: { label: 'positive' } }, tok('a1', ['annotator']));
  const second = await post('/annotation/submit', { item_id: itemIds[0], value: { label: 'negative' } }, tok('a2', ['annotator']));
  const conflictId = second.body.conflict.conflict_id as string;
  const row = await waitFor(() => tdb.db('conflicts').where({ id: conflictId }).first(), (c) => Boolean(c.task_id));
  const escalated = await waitFor(() => get(`/annotation/tasks/${row.task_id}`), (r) => r.body.status === 'escalated', 30_000);
  expect(escalated.body).toMatchObject({ kind: 'expert', assignees: ['m1', 'm2'], attempts: 3, due_at: null, assignee_id: 'm1' });
  const resolved = await post('/annotation/conflicts/resolve', { conflict_id: conflictId, value: { label: 'negative' } }, tok('m1', ['reviewer']));
  expect(resolved.status).toBe(200);
  expect(resolved.body).toMatchObject({ status: 'resolved', method: 'expert', resolved_by: 'm1' });

  const doc = (await (await api.request('/openapi.json')).json()) as { paths: Record<string, unknown> };
  for (const path of [
    '/api/v1/annotation/tasks',
    '/api/v1/annotation/tasks/assign',
    '/api/v1/annotation/tasks/{task_id}',
    '/api/v1/annotation/tasks/{task_id}/decision',
    '/api/v1/annotation/submit',
    '/api/v1/annotation/review-tasks',
    '/api/v1/annotation/conflicts/resolve',
    '/api/v1/annotation/conflicts/{project_id}',
    '/api/v1/annotation/progress/{project_id}',
  ]) {
    expect(doc.paths[path]).toBeDefined();
  }
}, 60_000);

test('a project without a manager or expert member: a conflict’s expert task goes to the project’s creator, escalation too', async () => {
  // The project is created by `mia` (manager token); its members are annotators only.
  const { projectId, itemIds } = await setup({ members: [['a1', 'annotator'], ['a2', 'annotator']], items: 1, routing: { annotators_per_item: 2 } });
  await tdb.db('projects').where({ id: projectId }).update({
    routing: tdb.db.raw(`routing || '{"conflict_expert_due_in_seconds": 1, "conflict_max_reassignments": 1}'::jsonb`),
  });
  await post('/annotation/submit', { item_id: itemIds[0], value: { label: 'positive' } }, tok('a1', ['annotator']));
  const second = await post('/annotation/submit', { item_id: itemIds[0], value: { label: 'negative' } }, tok('a2', ['annotator']));
  const conflictId = second.body.conflict.conflict_id as string;
  const row = await waitFor(() => tdb.db('conflicts').where({ id: conflictId }).first(), (c) => Boolean(c.task_id));
  const assigned = await waitFor(() => get(`/annotation/tasks/${row.task_id}`), (r) => r.body.attempts >= 1);
  expect(assigned.body).toMatchObject({ kind: 'expert', assignee_id: 'mia' });
  // Its deadline passes: no one else to reassign to, so it escalates, to the creator again.
  const escalated = await waitFor(() => get(`/annotation/tasks/${row.task_id}`), (r) => r.body.status === 'escalated', 30_000);
  expect(escalated.body).toMatchObject({ kind: 'expert', assignee_id: 'mia', assignees: ['mia'], attempts: 3, due_at: null });
  const resolved = await post('/annotation/conflicts/resolve', { conflict_id: conflictId, value: { label: 'negative' } });
  expect(resolved.body).toMatchObject({ status: 'resolved', method: 'expert', resolved_by: 'mia' });
}, 60_000);

test('claim, release, reassign and cancel through HTTP', async () => {
  const { projectId, itemIds } = await setup({ members: [['r1', 'reviewer'], ['r2', 'reviewer'], ['a1', 'annotator']] });
  const t = await post('/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds, kind: 'review', strategy: 'least_loaded' });
  const id = t.body.task_id as string;
  expect(t.body.assignee_id).toBe('r1');
  const act = (action: string, token: string, json: Record<string, unknown> = {}) => post(`/annotation/tasks/${id}/${action}`, json, token);

  expect((await act('claim', tok('r2'))).status).toBe(409);
  expect((await act('claim', tok('r1'))).status).toBe(202);
  await waitFor(() => get(`/annotation/tasks/${id}`), (r) => r.body.claimed_at !== null);
  expect((await act('release', tok('r2'))).status).toBe(403);
  expect((await act('release', tok('r1'))).status).toBe(202);
  await waitFor(() => get(`/annotation/tasks/${id}`), (r) => r.body.assignee_id === 'r2');
  expect((await act('reassign', tok('r2'))).status).toBe(403);
  expect((await act('reassign', manager, { assignee_id: 'a1' })).status).toBe(422);
  expect((await act('reassign', manager, { assignee_id: 'r1' })).status).toBe(202);
  const moved = await waitFor(() => get(`/annotation/tasks/${id}`), (r) => r.body.assignee_id === 'r1');
  expect(moved.body.assignees).toEqual(['r1', 'r2']);
  expect((await act('cancel', manager, { reason: 'duplicate' })).status).toBe(202);
  const cancelled = await waitFor(() => get(`/annotation/tasks/${id}`), (r) => r.body.status === 'cancelled');
  expect(cancelled.body.result).toMatchObject({ cancelled_by: 'mia', reason: 'duplicate' });
  expect((await post(`/annotation/tasks/${id}/decision`, { decision: 'approve' }, tok('r1'))).status).toBe(409);
  expect((await act('claim', tok('r1'))).status).toBe(409);
});

// A conflict opened by /submit reads only its item (issue 12: no project history per conflict):
// it is decided by majority vote over the item's ratings however much history the project has,
// so a 1–1 vote is a tie and goes to an expert. Dawid–Skene, under its evidence rule, is fitted
// once per validation run (test/e2e/conflicts-settled.test.ts).
test('with history, a conflict opened by /submit is still decided from its item alone (majority vote)', async () => {
  const { projectId, itemIds } = await setup({
    members: [['a1', 'annotator'], ['a2', 'annotator'], ['a3', 'annotator'], ['boss', 'manager']],
    items: 4,
    routing: { annotators_per_item: 2 },
  });
  await tdb.db('projects').where({ id: projectId }).update({ routing: tdb.db.raw(`routing || '{"conflict_ds_min_items": 3}'::jsonb`) });
  const submit = (who: string, itemId: string, label: string) => post('/annotation/submit', { item_id: itemId, value: { label } }, tok(who, ['annotator']));
  for (const itemId of itemIds.slice(0, 3)) {
    await submit('a1', itemId, 'positive');
    expect((await submit('a2', itemId, 'positive')).body.conflict).toBeNull();
    await submit('a3', itemId, 'negative');
  }
  await submit('a1', itemIds[3], 'positive');
  const res = await submit('a3', itemIds[3], 'negative');
  const conflictId = res.body.conflict.conflict_id;
  const detected = await waitFor(
    () => tdb.db('events').where({ project_id: projectId, type: 'conflict.detected' }).whereRaw(`payload->>'conflict_id' = ?`, [conflictId]).first(),
    (e) => Boolean(e),
  );
  expect(detected.payload).toMatchObject({ conflict_id: conflictId, item_id: itemIds[3], suggested: { method: 'majority_vote' } });
  expect(detected.payload.inputs).toHaveLength(2);
  // The 1–1 tie has no label: nothing is resolved automatically, an expert gets the conflict.
  expect(detected.payload.suggested.value).toBeNull();
  const row = await waitFor(() => tdb.db('conflicts').where({ id: conflictId }).first(), (c) => Boolean(c.task_id));
  expect(row).toMatchObject({ status: 'open', resolved_value: null });
});

test('the WebSocket review_decision handler validates its body and decides like REST', async () => {
  const { projectId, itemIds } = await setup({ members: [['r1', 'reviewer']] });
  const t = await post('/annotation/tasks/assign', { project_id: projectId, item_ids: itemIds, kind: 'review' });
  const ctx = { deps: api.deps, principal: { userId: 'r1', tenantId: TENANT, roles: ['reviewer' as const] } };
  await expect(reviewDecisionMessage(ctx, { task_id: t.body.task_id, decision: 'maybe' })).rejects.toMatchObject({ status: 422 });
  await expect(reviewDecisionMessage(ctx, { task_id: t.body.task_id, decision: 'modify', value: { label: 'nope' } })).rejects.toMatchObject({ status: 422 });
  await expect(reviewDecisionMessage({ ...ctx, principal: { ...ctx.principal, userId: 'r9' } }, { task_id: t.body.task_id, decision: 'approve' })).rejects.toMatchObject({ status: 403 });
  const verdict = await reviewDecisionMessage(ctx, { task_id: t.body.task_id, decision: 'modify', value: { label: 'neutral' } });
  expect(verdict).toMatchObject({ accepted: true, remaining: 0, decided_by: 'r1' });
  await expect(reviewDecisionMessage(ctx, { task_id: t.body.task_id, decision: 'approve' })).rejects.toMatchObject({ status: 409 });
});
