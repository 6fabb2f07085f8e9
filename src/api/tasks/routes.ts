import Router from '@koa/router';
import type { TaskRow } from '../../db/models';
import { assertAssignable, assertItemsInProject, createAssignedTask, createReviewTasks } from '../../tasks/create-tasks';
import { findTaskForPrincipal, signalTask, submitReviewDecision } from '../../tasks/decisions';
import { REVIEW_TASK_SIZE } from '../../tasks/start-task';
import { submitHumanAnnotation } from '../../tasks/submit-annotation';
import type { ApiContextExtras, ApiState } from '../deps';
import { listPage, pageOf, paged } from '../middleware/pagination';
import { API_PREFIX, defineRoute } from '../openapi';
import { findProjectForPrincipal, scopeToPrincipal } from '../scope';
import { presentAssignedTask, presentSubmittedAnnotation, presentTask } from './presenter';
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
    const task = await createAssignedTask(ctx.deps, principal, project, {
      kind: body.kind,
      itemIds: body.item_ids,
      assigneeId: body.assignee_id,
      strategy: body.strategy,
      dueInSeconds: body.due_in_seconds,
    });
    ctx.status = 201;
    ctx.set('Location', `${API_PREFIX}/annotation/tasks/${task.taskId}`);
    ctx.body = presentAssignedTask(task);
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
    const tasks = await createReviewTasks(ctx.deps, principal, project, { itemIds: body.item_ids, reviewerId: body.reviewer_id, dueInSeconds: body.due_in_seconds });
    ctx.status = 201;
    ctx.body = { tasks: tasks.map(presentAssignedTask), task_size: REVIEW_TASK_SIZE };
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
    const submitted = await submitHumanAnnotation(ctx.deps, ctx.state.principal!, ctx.state.input.body);
    ctx.status = 201;
    ctx.body = presentSubmittedAnnotation(submitted);
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
