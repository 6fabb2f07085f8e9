import { ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure } from '@temporalio/common';
import type { Knex } from 'knex';
import type { ApiDeps } from '../api/deps';
import { ApiError, conflict, forbidden, notFound, serviceUnavailable, validationFailed } from '../api/errors';
import { labelValueProblem } from '../annotation/label-value';
import { canAccessProject, type Principal } from '../auth/jwt';
import { Conflict, Project, ProjectMember, Task, type ConflictRow, type TaskRow } from '../db/models';
import type { AnnotationValue, LabelSchema } from '../llm/types';
import { resolveUpdate } from '../../workflows/conflict-resolution';
import {
  REJECTIONS,
  cancelSignal,
  claimSignal,
  reassignSignal,
  releaseSignal,
  submitReviewUpdate,
  type ReviewDecision,
  type ReviewVerdict,
} from '../../workflows/review-assignment';
import { ELIGIBLE_ROLES } from '../annotation/assignment';

/** What the decision functions need: the REST routes pass ctx.deps, the WebSocket hub its own. */
export type DecisionDeps = Pick<ApiDeps, 'db' | 'temporal' | 'config'>;

/** The task, if the principal may see its project; otherwise a 404 (never a 403). */
export async function findTaskForPrincipal(db: Knex, principal: Principal, taskId: string): Promise<TaskRow> {
  const task = await Task.query(db).findOne({ id: taskId, tenant_id: principal.tenantId });
  if (!task || !canAccessProject(principal, task.project_id)) throw notFound('task', taskId);
  return task;
}

/** Admins and managers (by token role or by project membership) may decide any task of a project. */
export async function isProjectManager(db: Knex, principal: Principal, projectId: string): Promise<boolean> {
  if (principal.roles.includes('admin') || principal.roles.includes('manager')) return true;
  const m = await ProjectMember.query(db).findOne({ project_id: projectId, user_id: principal.userId, tenant_id: principal.tenantId }).select('role');
  return m?.role === 'manager' || m?.role === 'expert';
}

async function labelSchemaOf(db: Knex, projectId: string): Promise<LabelSchema> {
  const p = await Project.query(db).findById(projectId).select('label_schema');
  return p!.label_schema as LabelSchema;
}

/** Turns a workflow's refusal into the API error a client understands (403 / 409 / 422). */
export function rejectionToApiError(err: unknown): ApiError | null {
  if (err instanceof WorkflowNotFoundError) return conflict('The task or conflict is already closed');
  if (err instanceof ServiceError) return serviceUnavailable('The workflow engine is unavailable; try again');
  if (!(err instanceof WorkflowUpdateFailedError)) {
    if ((err as Error)?.name === 'WorkflowNotFoundError') return conflict('The task or conflict is already closed');
    return null;
  }
  let cause: unknown = err.cause;
  while (cause) {
    if (cause instanceof ApplicationFailure) {
      const msg = cause.message;
      switch (cause.type) {
        case REJECTIONS.notAssignee:
          return forbidden(msg);
        case REJECTIONS.alreadyDecided:
        case REJECTIONS.closed:
        case 'AlreadyResolved':
          return conflict(msg);
        case REJECTIONS.invalidValue:
          return validationFailed([{ field: 'value', message: msg }]);
        case REJECTIONS.invalidItem:
          return validationFailed([{ field: 'item_ids', message: msg }]);
      }
    }
    cause = (cause as { cause?: unknown }).cause;
  }
  return conflict(err.message);
}

export interface ReviewDecisionRequest {
  task_id: string;
  decision: ReviewDecision;
  value?: AnnotationValue | null;
  /** Items the decision covers; default every item of the task still undecided. */
  item_ids?: string[];
  lead_time_ms?: number;
  /** A retry with the same key (same user) answers the first decision's outcome. */
  idempotency_key?: string;
}

export interface ReviewDecisionResult {
  task_id: string;
  workflow_id: string;
  decision: ReviewDecision;
  accepted: true;
  item_ids: string[];
  annotation_ids: Record<string, string>;
  decided_by: string;
  remaining: number;
  conflicts: { item_id: string; conflict_id: string; created: boolean }[];
}

/** Seconds a client waits before sending a pending decision again. */
const DECISION_RETRY_AFTER_S = 1;

/**
 * Sends a decision to its workflow as an update and waits for the verdict, at most
 * DECISION_WAIT_MS (a stalled workflow must not hold the request open without end). With an
 * idempotency key the update id is derived from it and the user, so a retry joins the first
 * update: Temporal answers an update id it has seen with that update's outcome, never runs it twice.
 */
async function decideThroughUpdate<Ret, Args extends [unknown, ...unknown[]]>(
  deps: DecisionDeps,
  principal: Principal,
  workflowId: string,
  update: UpdateDefinition<Ret, Args>,
  idempotencyKey: string | undefined,
  args: Args,
): Promise<Ret> {
  const { client } = deps.temporal;
  const updateId = idempotencyKey ? `decision/${principal.userId}/${idempotencyKey}` : undefined;
  try {
    return await client.withDeadline(Date.now() + deps.config.DECISION_WAIT_MS, () =>
      client.workflow.getHandle(workflowId).executeUpdate(update, { args, ...(updateId ? { updateId } : {}) }),
    );
  } catch (err) {
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      throw new ApiError(
        503,
        'DECISION_PENDING',
        idempotencyKey
          ? 'The decision was sent and is not recorded yet; send it again with the same idempotency_key for its outcome'
          : 'The decision was sent and is not recorded yet; reload the task before deciding again (an idempotency_key makes a retry safe)',
        [],
        { 'Retry-After': String(DECISION_RETRY_AFTER_S) },
      );
    }
    const mapped = rejectionToApiError(err);
    if (mapped) throw mapped;
    throw err;
  }
}

/**
 * A decision on a task, delivered to its `reviewAssignment` workflow as the `submitReview`
 * update; the workflow's verdict is the answer, conflicts included (its activity opens them: this
 * process only validates, authorises and sends the update). Used by POST /submit, POST /tasks/{id}/decision
 * and the WebSocket `review_decision` message. Checks first (so mistakes are 4xx, not workflow
 * rejections): 404 unknown task, 409 closed, 403 neither assignee nor manager, 422 bad value.
 * Two deciders at once: exactly one is accepted, the other gets a 409. Throws ApiError.
 */
export async function submitReviewDecision(deps: DecisionDeps, principal: Principal, req: ReviewDecisionRequest): Promise<ReviewDecisionResult> {
  const { db } = deps;
  const task = await findTaskForPrincipal(db, principal, req.task_id);
  if (task.kind === 'expert') throw conflict('An expert task is resolved through POST /annotation/conflicts/resolve');
  // A keyed retry goes to the workflow even when the task has closed since: its first attempt may be what closed it.
  if (!req.idempotency_key && (task.status === 'completed' || task.status === 'cancelled')) throw conflict(`The task is already ${task.status}`);
  const isManager = await isProjectManager(db, principal, task.project_id);
  if (!isManager && task.assignee_id !== principal.userId) throw forbidden('Only the assignee or a manager may decide this task');
  if (req.item_ids) {
    const foreign = req.item_ids.filter((id) => !task.item_ids.includes(id));
    if (foreign.length) throw validationFailed([{ field: 'item_ids', message: `not in this task: ${foreign.join(', ')}` }]);
  }
  if ((req.decision === 'modify' || req.decision === 'submit') && (req.value === undefined || req.value === null)) {
    throw validationFailed([{ field: 'value', message: `a ${req.decision} needs a value` }]);
  }
  if (req.value !== undefined && req.value !== null) {
    const problem = labelValueProblem(await labelSchemaOf(db, task.project_id), req.value);
    if (problem) throw validationFailed([{ field: 'value', message: problem }]);
  }
  const verdict: ReviewVerdict = await decideThroughUpdate(deps, principal, task.workflow_id, submitReviewUpdate, req.idempotency_key, [
    { userId: principal.userId, isManager, decision: req.decision, value: req.value ?? undefined, itemIds: req.item_ids, leadTimeMs: req.lead_time_ms },
  ]);
  // The activity that wrote the annotations opened the conflicts (and started their workflows).
  const conflicts: ReviewDecisionResult['conflicts'] = (verdict.conflicts ?? []).map((c) => ({ item_id: c.itemId, conflict_id: c.conflictId, created: c.created }));
  return {
    task_id: task.id,
    workflow_id: task.workflow_id,
    decision: verdict.decision,
    accepted: true,
    item_ids: verdict.itemIds,
    annotation_ids: verdict.annotationIds,
    decided_by: verdict.decidedBy,
    remaining: verdict.remaining,
    conflicts,
  };
}

export async function findConflictForPrincipal(db: Knex, principal: Principal, conflictId: string): Promise<ConflictRow> {
  const row = await Conflict.query(db).findOne({ id: conflictId, tenant_id: principal.tenantId });
  if (!row || !canAccessProject(principal, row.project_id)) throw notFound('conflict', conflictId);
  return row;
}

/**
 * An expert's (or manager's) resolution of a conflict, through its workflow's `resolve` update.
 * 404 unknown, 409 already resolved, 403 neither the assigned expert nor a manager, 422 bad value.
 * Returns the resolved conflict row. Throws ApiError.
 */
export async function resolveConflictDecision(
  deps: DecisionDeps,
  principal: Principal,
  req: { conflict_id: string; value: AnnotationValue; reason?: string | null; idempotency_key?: string },
): Promise<ConflictRow> {
  const { db } = deps;
  const row = await findConflictForPrincipal(db, principal, req.conflict_id);
  if (!req.idempotency_key && row.status !== 'open') throw conflict(`The conflict is already ${row.status}`);
  const isManager = await isProjectManager(db, principal, row.project_id);
  let assignee: string | null = null;
  if (row.task_id) assignee = (await Task.query(db).findById(row.task_id).select('assignee_id'))?.assignee_id ?? null;
  if (!isManager && assignee !== principal.userId) throw forbidden('Only the assigned expert or a manager may resolve this conflict');
  const problem = labelValueProblem(await labelSchemaOf(db, row.project_id), req.value);
  if (problem) throw validationFailed([{ field: 'value', message: problem }]);
  if (!row.workflow_id) throw conflict('The conflict has no resolution workflow');
  // The update answers the workflow's status; the row, which its activity wrote, is the answer.
  await decideThroughUpdate(deps, principal, row.workflow_id, resolveUpdate, req.idempotency_key, [
    { userId: principal.userId, isManager, value: req.value, reason: req.reason ?? null },
  ]);
  return (await Conflict.query(db).findById(row.id))!;
}

export type TaskAction = 'claim' | 'release' | 'reassign' | 'cancel';

/**
 * Signals a task's workflow (REST and WebSocket alike):
 * - `claim`: the assignee acknowledges the task, or an eligible member takes an unassigned one;
 * - `release`: the assignee gives it back (the strategy picks someone else);
 * - `reassign` (manager): to `assignee_id`, or to the strategy's next pick;
 * - `cancel` (manager): closes it without a decision.
 * 404 unknown, 409 closed or held by someone else, 403 not allowed, 422 ineligible assignee.
 */
export async function signalTask(
  deps: DecisionDeps,
  principal: Principal,
  req: { task_id: string; action: TaskAction; assignee_id?: string | null; reason?: string | null },
): Promise<{ task_id: string; workflow_id: string; action: TaskAction }> {
  const { db } = deps;
  const task = await findTaskForPrincipal(db, principal, req.task_id);
  if (task.status === 'completed' || task.status === 'cancelled') throw conflict(`The task is already ${task.status}`);
  if (task.kind === 'expert') throw conflict('An expert task is managed by its conflict (POST /annotation/conflicts/resolve)');
  const isManager = await isProjectManager(db, principal, task.project_id);
  const handle = deps.temporal.client.workflow.getHandle(task.workflow_id);
  const eligible = async (userId: string) => {
    const m = await ProjectMember.query(db).findOne({ project_id: task.project_id, user_id: userId }).select('role');
    const roles = task.status === 'escalated' || task.kind === 'expert' ? ELIGIBLE_ROLES.expert : [...ELIGIBLE_ROLES[task.kind], ...ELIGIBLE_ROLES.expert];
    return Boolean(m && roles.includes(m.role));
  };
  try {
    switch (req.action) {
      case 'claim':
        if (task.assignee_id && task.assignee_id !== principal.userId) throw conflict('The task is assigned to someone else');
        if (!task.assignee_id && !(await eligible(principal.userId))) throw forbidden('Only an eligible project member may claim this task');
        await handle.signal(claimSignal, { userId: principal.userId });
        break;
      case 'release':
        if (task.assignee_id !== principal.userId) throw forbidden('Only the assignee may release this task');
        await handle.signal(releaseSignal, { userId: principal.userId });
        break;
      case 'reassign':
        if (!isManager) throw forbidden('Only a manager may reassign a task');
        if (req.assignee_id && !(await eligible(req.assignee_id))) {
          throw validationFailed([{ field: 'assignee_id', message: `${req.assignee_id} is not an eligible project member` }]);
        }
        await handle.signal(reassignSignal, { byUserId: principal.userId, assigneeId: req.assignee_id ?? null });
        break;
      case 'cancel':
        if (!isManager) throw forbidden('Only a manager may cancel a task');
        await handle.signal(cancelSignal, { byUserId: principal.userId, reason: req.reason ?? null });
        break;
    }
  } catch (err) {
    if (err instanceof ApiError) throw err;
    const mapped = rejectionToApiError(err);
    if (mapped) throw mapped;
    throw err;
  }
  return { task_id: task.id, workflow_id: task.workflow_id, action: req.action };
}
