import crypto from 'node:crypto';
import { serviceUnavailable, validationFailed } from '../api/errors';
import { ELIGIBLE_ROLES, groupItems, type AssignmentStrategy, type TaskStatus } from '../annotation/assignment';
import type { Principal } from '../auth/jwt';
import { Item, ProjectMember, type ProjectRow } from '../db/models';
import { awaitAssignmentUpdate } from '../../workflows/review-assignment';
import type { DecisionDeps } from './decisions';
import { REVIEW_TASK_SIZE, startTask } from './start-task';

/** How long POST /tasks/assign waits for the workflow's first assignment before answering. */
export const ASSIGNMENT_WAIT_MS = 10_000;

type PersonTaskKind = 'annotate' | 'review';
type TaskProject = Pick<ProjectRow, 'id' | 'tenant_id'>;

/** A task just created, with its first assignment (or what the row said when that was slow). */
export interface AssignedTask {
  taskId: string;
  workflowId: string;
  kind: PersonTaskKind;
  assigneeId: string | null;
  dueAt: string | null;
  status: TaskStatus | 'pending';
  itemIds: string[];
}

export interface NewTask {
  kind: PersonTaskKind;
  itemIds: string[];
  assigneeId?: string;
  strategy?: AssignmentStrategy;
  dueInSeconds?: number;
}

/** 422 unless every item belongs to the project. */
export async function assertItemsInProject(deps: Pick<DecisionDeps, 'db'>, project: TaskProject, itemIds: string[], field = 'item_ids'): Promise<void> {
  const unique = [...new Set(itemIds)];
  const rows = await Item.query(deps.db).where({ project_id: project.id, tenant_id: project.tenant_id }).whereIn('id', unique).select('id');
  const found = new Set(rows.map((r) => r.id));
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length) throw validationFailed([{ field, message: `${missing.length} item(s) not found in this project, e.g. ${missing.slice(0, 3).join(', ')}` }]);
}

/** Checks who can take the task before a workflow exists, so a hopeless request is a 422. */
export async function assertAssignable(deps: Pick<DecisionDeps, 'db'>, project: TaskProject, kind: PersonTaskKind, assigneeId: string | undefined, field: string): Promise<void> {
  const members = () => ProjectMember.query(deps.db).where({ project_id: project.id });
  if (assigneeId) {
    const roles = [...ELIGIBLE_ROLES[kind], ...ELIGIBLE_ROLES.expert];
    const m = await members().findOne({ user_id: assigneeId }).select('role');
    if (!m || !roles.includes(m.role)) {
      throw validationFailed([{ field, message: `${assigneeId} is not a project member with role ${ELIGIBLE_ROLES[kind].join('/')} (or manager)` }]);
    }
    return;
  }
  const eligible = await members().whereIn('role', [...ELIGIBLE_ROLES[kind]]).first().select('user_id');
  if (!eligible) throw validationFailed([{ field: 'project_id', message: `the project has no member with role ${ELIGIBLE_ROLES[kind].join('/')}` }]);
}

/**
 * Starts a task's workflow (startTask: row + reviewAssignment) and waits up to ASSIGNMENT_WAIT_MS
 * for its first assignment (update `awaitAssignment`), so the answer names the assignee and
 * deadline. A start that fails is a 503.
 */
export async function createAssignedTask(deps: DecisionDeps, principal: Principal, project: TaskProject, req: NewTask): Promise<AssignedTask> {
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
    taskId: started.taskId,
    workflowId: started.workflowId,
    kind: req.kind,
    assigneeId: assigned ? assigned.assigneeId : (row?.assignee_id ?? null),
    dueAt: assigned ? assigned.dueAt : row?.due_at ? new Date(row.due_at).toISOString() : null,
    status: assigned ? assigned.status : (row?.status ?? 'open'),
    itemIds: [...new Set(req.itemIds)],
  };
}

/** POST /annotation/review-tasks: the items in review tasks of at most REVIEW_TASK_SIZE, one after another. */
export async function createReviewTasks(
  deps: DecisionDeps,
  principal: Principal,
  project: TaskProject,
  req: { itemIds: string[]; reviewerId?: string; dueInSeconds?: number },
): Promise<AssignedTask[]> {
  const tasks: AssignedTask[] = [];
  for (const group of groupItems([...new Set(req.itemIds)], REVIEW_TASK_SIZE)) {
    tasks.push(await createAssignedTask(deps, principal, project, { kind: 'review', itemIds: group, assigneeId: req.reviewerId, dueInSeconds: req.dueInSeconds }));
  }
  return tasks;
}
