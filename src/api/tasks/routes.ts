import crypto from 'node:crypto';
import Router from '@koa/router';
import { ELIGIBLE_ROLES, groupItems, type AssignmentStrategy } from '../../annotation/assignment';
import { labelValueProblem } from '../../annotation/label-value';
import type { Principal } from '../../auth/jwt';
import type { LabelSchema } from '../../llm/types';
import { submitAnnotation } from '../../tasks/submit-annotation';
import { findTaskForPrincipal, signalTask, submitReviewDecision, type TaskRow } from '../../tasks/decisions';
import { REVIEW_TASK_SIZE, startTask } from '../../tasks/start-task';
import { loadCandidates } from '../../data/task-candidates';
import { awaitAssignmentUpdate } from '../../../workflows/review-assignment';
import type { ApiContextExtras, ApiDeps, ApiState } from '../deps';
import { conflict, serviceUnavailable, validationFailed } from '../errors';
import { listPage, pageOf, paged } from '../middleware/pagination';
import { API_PREFIX, defineRoute } from '../openapi';
import { findProjectForPrincipal, scopeToPrincipal, type ProjectRow } from '../scope';
import { presentTask } from './presenter';
import {
  AssignedTask,
  AssignTaskBody,
  DecisionBody,
  DecisionResponse,
  ListTasksQuery,
  ReviewTasksBody,
  ReviewTasksResponse,
  SubmitBody,
  SubmitResponse,
  TaskActionBody,
  TaskActionResponse,
  TaskParams,
  TaskResponse,
} from './schema';

export const tasksRouter = new Router<ApiState, ApiContextExtras>();

/** How long POST /tasks/assign waits for the workflow's first assignment before answering. */
const ASSIGNMENT_WAIT_MS = 10_000;

async function assertItemsInProject(deps: ApiDeps, project: ProjectRow, itemIds: string[], field = 'item_ids') {
  const unique = [...new Set(itemIds)];
  const found = new Set<string>(await deps.db('items').where({ project_id: project.id, tenant_id: project.tenant_id }).whereIn('id', unique).pluck('id'));
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length) throw validationFailed([{ field, message: `${missing.length} item(s) not found in this project, e.g. ${missing.slice(0, 3).join(', ')}` }]);
}

/** Checks who can take the task before a workflow exists, so a hopeless request is a 422. */
async function assertAssignable(deps: ApiDeps, project: ProjectRow, kind: 'annotate' | 'review', assigneeId: string | undefined, field: string) {
  const roles = [...ELIGIBLE_ROLES[kind], ...ELIGIBLE_ROLES.expert];
  if (assigneeId) {
    const m = await deps.db('project_members').where({ project_id: project.id, user_id: assigneeId }).first('role');
    if (!m || !roles.includes(m.role)) {
      throw validationFailed([{ field, message: `${assigneeId} is not a project member with role ${ELIGIBLE_ROLES[kind].join('/')} (or manager)` }]);
    }
    return;
  }
  const candidates = await loadCandidates(deps.db, project.id, ELIGIBLE_ROLES[kind]);
  if (!candidates.length) throw validationFailed([{ field: 'project_id', message: `the project has no member with role ${ELIGIBLE_ROLES[kind].join('/')}` }]);
}

/** Starts a task workflow and waits for its first assignment (the answer names the assignee and deadline). */
async function createTask(
  deps: ApiDeps,
  principal: Principal,
  project: ProjectRow,
  req: { kind: 'annotate' | 'review'; itemIds: string[]; assigneeId?: string; strategy?: AssignmentStrategy; dueInSeconds?: number },
) {
  let started;
  try {
    started = await startTask(deps.db, deps.temporal.client, deps.config, {
      tenantId: principal.tenantId,
      projectId: project.id,
      taskId: crypto.randomUUID(),
      kind: req.kind,
      itemIds: req.itemIds,
      assigneeId: req.assigneeId ?? null,
      strategy: req.strategy,
      dueInSeconds: req.dueInSeconds,
      createdBy: principal.userId,
      source: 'api',
    });
  } catch (err) {
    throw serviceUnavailable(`The workflow engine could not start the task: ${(err as Error).message}`);
  }
  // The first assignment normally takes milliseconds; if the workers are slow to pick the task
  // up, answer with what the row says (the assignment follows; GET the task to see it).
  const timeout = new Promise<null>((resolve) => setTimeout(resolve, ASSIGNMENT_WAIT_MS, null).unref());
  const assigned = await Promise.race([
    deps.temporal.client.workflow.getHandle(started.workflowId).executeUpdate(awaitAssignmentUpdate).catch(() => null),
    timeout,
  ]);
  const row = assigned ? null : await deps.db('tasks').where({ id: started.taskId }).first('assignee_id', 'due_at', 'status');
  return {
    task_id: started.taskId,
    workflow_id: started.workflowId,
    kind: req.kind,
    assignee_id: assigned ? assigned.assigneeId : (row?.assignee_id ?? null),
    due_at: assigned ? assigned.dueAt : row?.due_at ? new Date(row.due_at).toISOString() : null,
    status: assigned ? assigned.status : (row?.status ?? 'open'),
    item_ids: [...new Set(req.itemIds)],
  };
}

defineRoute(
  tasksRouter,
  {
    method: 'get',
    path: '/annotation/tasks',
    tags: ['tasks'],
    summary: 'List tasks',
    description: 'Tasks of the caller’s tenant (and token projects), newest first; filter by project, status, assignee and kind.',
    request: { query: ListTasksQuery },
    responses: { 200: { description: 'A page of tasks', schema: pageOf(TaskResponse) } },
  },
  async (ctx) => {
    const { query } = ctx.state.input;
    const base = scopeToPrincipal(ctx.deps.db('tasks'), ctx.state.principal!);
    if (query.project_id) base.where('project_id', query.project_id);
    if (query.status) base.where('status', query.status);
    if (query.assignee_id) base.where('assignee_id', query.assignee_id);
    if (query.kind) base.where('kind', query.kind);
    const { rows, total } = await listPage<TaskRow>(base, query, (q) => q.select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }]));
    ctx.body = paged(rows.map(presentTask), query, total);
  },
);

defineRoute(
  tasksRouter,
  {
    method: 'post',
    path: '/annotation/tasks/assign',
    tags: ['tasks'],
    summary: 'Create and assign a task',
    description:
      'Starts a `reviewAssignment` workflow: it assigns the task (explicit `assignee_id`, else `strategy`: least_loaded = fewest open tasks, round_robin = next member in join order), ' +
      'waits for the decision with a deadline, reassigns on a missed deadline (twice), then escalates to a manager. Answers once the first assignment is made.',
    roles: ['manager'],
    request: { body: AssignTaskBody },
    responses: { 201: { description: 'The task and its assignee', schema: AssignedTask } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const principal = ctx.state.principal!;
    const project = await findProjectForPrincipal(ctx.deps.db, principal, body.project_id);
    await assertItemsInProject(ctx.deps, project, body.item_ids);
    await assertAssignable(ctx.deps, project, body.kind, body.assignee_id, 'assignee_id');
    const task = await createTask(ctx.deps, principal, project, {
      kind: body.kind,
      itemIds: body.item_ids,
      assigneeId: body.assignee_id,
      strategy: body.strategy,
      dueInSeconds: body.due_in_seconds,
    });
    ctx.status = 201;
    ctx.set('Location', `${API_PREFIX}/annotation/tasks/${task.task_id}`);
    ctx.body = task;
  },
);

defineRoute(
  tasksRouter,
  {
    method: 'post',
    path: '/annotation/review-tasks',
    tags: ['tasks'],
    summary: 'Create review tasks',
    description: `Splits the items into review tasks of at most ${REVIEW_TASK_SIZE} items, one \`reviewAssignment\` workflow per task, assigned to \`reviewer_id\` or by the project’s review strategy.`,
    roles: ['manager'],
    request: { body: ReviewTasksBody },
    responses: { 201: { description: 'The tasks created', schema: ReviewTasksResponse } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const principal = ctx.state.principal!;
    const project = await findProjectForPrincipal(ctx.deps.db, principal, body.project_id);
    await assertItemsInProject(ctx.deps, project, body.item_ids);
    await assertAssignable(ctx.deps, project, 'review', body.reviewer_id, 'reviewer_id');
    const tasks = [];
    for (const group of groupItems([...new Set(body.item_ids)], REVIEW_TASK_SIZE)) {
      tasks.push(await createTask(ctx.deps, principal, project, { kind: 'review', itemIds: group, assigneeId: body.reviewer_id, dueInSeconds: body.due_in_seconds }));
    }
    ctx.status = 201;
    ctx.body = { tasks, task_size: REVIEW_TASK_SIZE };
  },
);

defineRoute(
  tasksRouter,
  {
    method: 'get',
    path: '/annotation/tasks/:task_id',
    tags: ['tasks'],
    summary: 'Get a task',
    request: { params: TaskParams },
    responses: { 200: { description: 'The task', schema: TaskResponse } },
  },
  async (ctx) => {
    ctx.body = presentTask(await findTaskForPrincipal(ctx.deps.db, ctx.state.principal!, ctx.state.input.params.task_id));
  },
);

defineRoute(
  tasksRouter,
  {
    method: 'post',
    path: '/annotation/tasks/:task_id/decision',
    tags: ['tasks'],
    summary: 'Decide a review task',
    description:
      'The REST twin of the WebSocket `review_decision`: approve (keeps the AI value), reject, or modify (with `value`) the task’s items, delivered to the workflow as the `submitReview` update. ' +
      'Only the assignee or a manager (403); a task already decided or closed is a 409 (of two deciders at once exactly one is accepted).',
    roles: ['annotator', 'reviewer', 'manager'],
    request: { params: TaskParams, body: DecisionBody },
    responses: { 200: { description: 'The workflow accepted the decision', schema: DecisionResponse } },
  },
  async (ctx) => {
    const { params, body } = ctx.state.input;
    ctx.body = await submitReviewDecision(ctx.deps, ctx.state.principal!, { task_id: params.task_id, ...body });
  },
);

defineRoute(
  tasksRouter,
  {
    method: 'post',
    path: '/annotation/submit',
    tags: ['tasks'],
    summary: 'Submit a human annotation',
    description:
      'Persists a human annotation. With `task_id` it is delivered to the task’s workflow (update `submitReview`) and the answer carries the workflow’s verdict (403 not the assignee, 409 already decided). ' +
      'When the project has `annotators_per_item` ≥ 2 and the item’s human annotations disagree, a conflict is opened (one per item).',
    roles: ['annotator', 'reviewer', 'manager'],
    request: { body: SubmitBody },
    responses: { 201: { description: 'The annotation', schema: SubmitResponse } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const { db } = ctx.deps;
    const principal = ctx.state.principal!;
    const item = await db('items').where({ id: body.item_id, tenant_id: principal.tenantId }).first('id', 'project_id');
    if (!item) throw validationFailed([{ field: 'item_id', message: `item ${body.item_id} not found` }]);
    const project = await findProjectForPrincipal(db, principal, item.project_id).catch(() => {
      throw validationFailed([{ field: 'item_id', message: `item ${body.item_id} not found` }]);
    });
    const problem = labelValueProblem(project.label_schema as LabelSchema, body.value);
    if (problem) throw validationFailed([{ field: 'value', message: problem }]);

    if (body.task_id) {
      const task = await findTaskForPrincipal(db, principal, body.task_id);
      if (!task.item_ids.includes(body.item_id)) throw validationFailed([{ field: 'task_id', message: 'the item is not part of this task' }]);
      if (task.kind === 'expert') throw conflict('An expert task is resolved through POST /annotation/conflicts/resolve');
      const verdict = await submitReviewDecision(ctx.deps, principal, {
        task_id: task.id,
        decision: task.kind === 'annotate' ? 'submit' : 'modify',
        value: body.value,
        item_ids: [body.item_id],
        lead_time_ms: body.lead_time_ms,
      });
      const c = verdict.conflicts.find((x) => x.item_id === body.item_id);
      ctx.status = 201;
      ctx.body = {
        annotation_id: verdict.annotation_ids[body.item_id],
        item_id: body.item_id,
        task_id: task.id,
        value: body.value,
        annotator_id: principal.userId,
        verdict,
        conflict: c ? { conflict_id: c.conflict_id, created: c.created } : null,
      };
      return;
    }

    const { annotationId, conflict: c } = await submitAnnotation(
      { db, client: ctx.deps.temporal.client, config: ctx.deps.config, logger: ctx.deps.logger },
      { tenantId: principal.tenantId, projectId: project.id, itemId: body.item_id, annotatorId: principal.userId, value: body.value, leadTimeMs: body.lead_time_ms ?? null },
    );
    ctx.status = 201;
    ctx.body = {
      annotation_id: annotationId,
      item_id: body.item_id,
      task_id: null,
      value: body.value,
      annotator_id: principal.userId,
      verdict: null,
      conflict: c ? { conflict_id: c.conflictId, created: c.created } : null,
    };
  },
);

const ACTION_DOCS = {
  claim: 'The assignee acknowledges the task, or an eligible member takes an unassigned one (409 if someone else holds it).',
  release: 'The assignee gives the task back; the strategy picks another eligible member.',
  reassign: 'A manager moves the task to `assignee_id`, or to the strategy’s next pick; the deadline restarts.',
  cancel: 'A manager closes the task without a decision (status `cancelled`).',
} as const;

for (const action of ['claim', 'release', 'reassign', 'cancel'] as const) {
  defineRoute(
    tasksRouter,
    {
      method: 'post',
      path: `/annotation/tasks/:task_id/${action}`,
      tags: ['tasks'],
      summary: `${action[0].toUpperCase()}${action.slice(1)} a task`,
      description: `${ACTION_DOCS[action]} Sent to the task’s workflow as the \`${action}\` signal.`,
      roles: action === 'reassign' || action === 'cancel' ? ['manager'] : ['annotator', 'reviewer', 'manager'],
      request: { params: TaskParams, body: TaskActionBody },
      responses: { 202: { description: 'The signal was delivered', schema: TaskActionResponse } },
    },
    async (ctx) => {
      const { params, body } = ctx.state.input;
      ctx.status = 202;
      ctx.body = await signalTask(ctx.deps, ctx.state.principal!, { task_id: params.task_id, action, assignee_id: body.assignee_id, reason: body.reason });
    },
  );
}
