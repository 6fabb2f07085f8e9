import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { conflict as conflictError, validationFailed } from '../api/errors';
import { findProjectForPrincipal } from '../api/scope';
import { labelValueProblem } from '../annotation/label-value';
import type { Principal } from '../auth/jwt';
import type { Config } from '../config';
import { Item } from '../db/models';
import type { Logger } from '../logger';
import type { AnnotationValue, LabelSchema } from '../llm/types';
import { openConflicts, startConflictWorkflows, type OpenedConflict } from './conflicts';
import { findTaskForPrincipal, submitReviewDecision, type DecisionDeps, type ReviewDecisionResult } from './decisions';
import { refreshFinalLabels } from '../data/final-labels';

export interface SubmitAnnotationRequest {
  tenantId: string;
  projectId: string;
  itemId: string;
  annotatorId: string;
  value: AnnotationValue;
  leadTimeMs: number | null;
}

/**
 * A task-less human annotation (POST /annotation/submit): the annotation, its audit row and, if
 * the item's human annotations now disagree, its conflict commit in ONE transaction, so there is
 * never an annotation whose disagreement has no conflict. Then the conflict's workflow is started;
 * a start that fails (Temporal unreachable, a crash) is only logged, because the annotation is
 * committed and the workers' sweep (src/tasks/conflict-sweep.ts) starts any open conflict whose
 * workflow is not known to be started. The values were validated by the caller.
 */
export async function submitAnnotation(
  deps: { db: Knex; client: Client; config: Pick<Config, 'TEMPORAL_TASK_QUEUE'>; logger?: Pick<Logger, 'warn'> },
  req: SubmitAnnotationRequest,
): Promise<{ annotationId: string; conflict: OpenedConflict | null }> {
  const { db } = deps;
  const annotationId = crypto.randomUUID();
  const [conflict] = await db.transaction(async (trx) => {
    await trx('annotations').insert({
      id: annotationId,
      tenant_id: req.tenantId,
      project_id: req.projectId,
      item_id: req.itemId,
      source: 'human',
      annotator_id: req.annotatorId,
      value: JSON.stringify(req.value),
      status: 'submitted',
      lead_time_ms: req.leadTimeMs,
    });
    await trx('audit_log').insert({
      tenant_id: req.tenantId,
      project_id: req.projectId,
      actor: req.annotatorId,
      action: 'annotation.submitted',
      entity_type: 'annotation',
      entity_id: annotationId,
      details: JSON.stringify({ item_id: req.itemId, value: req.value, lead_time_ms: req.leadTimeMs }),
    });
    const conflicts = await openConflicts(trx, { tenantId: req.tenantId, projectId: req.projectId, itemIds: [req.itemId] });
    await refreshFinalLabels(trx, { tenantId: req.tenantId, projectId: req.projectId, itemIds: [req.itemId] });
    return conflicts;
  });
  if (conflict) {
    try {
      await startConflictWorkflows(db, deps.client, deps.config, [conflict]);
    } catch (err) {
      deps.logger?.warn({ err, conflict_id: conflict.conflictId }, 'conflict workflow not started; the sweep will start it');
    }
  }
  return { annotationId, conflict: conflict ?? null };
}

/** POST /annotation/submit as the caller sent it. */
export interface HumanAnnotationRequest {
  item_id: string;
  /** The task the annotation belongs to; absent: a task-less annotation. */
  task_id?: string;
  value: AnnotationValue;
  lead_time_ms?: number;
  /** With a task: a retry with the same key answers the first submission's outcome. */
  idempotency_key?: string;
}

export interface SubmittedAnnotation {
  annotationId: string;
  itemId: string;
  taskId: string | null;
  value: AnnotationValue;
  annotatorId: string;
  /** The task workflow's verdict (a task's annotation only). */
  verdict: ReviewDecisionResult | null;
  /** The item's open conflict, if its human annotations now disagree. */
  conflict: { conflictId: string; created: boolean } | null;
}

/**
 * POST /annotation/submit: a human annotation of an item the caller may see (422 otherwise) with
 * a value its project's label schema accepts (422). With a task, it is that task's decision on
 * the item (`submit` for annotate tasks, `modify` for review tasks), through the task workflow
 * (submitReviewDecision: 403 not the assignee, 409 decided); an expert task is a 409 (conflicts
 * are resolved through their own route). Without one, `submitAnnotation`. Throws ApiError.
 */
export async function submitHumanAnnotation(
  deps: DecisionDeps & { logger?: Pick<Logger, 'warn'> },
  principal: Principal,
  req: HumanAnnotationRequest,
): Promise<SubmittedAnnotation> {
  const { db } = deps;
  const itemNotFound = () => validationFailed([{ field: 'item_id', message: `item ${req.item_id} not found` }]);
  const item = await Item.query(db).findOne({ id: req.item_id, tenant_id: principal.tenantId }).select('id', 'project_id');
  if (!item) throw itemNotFound();
  const project = await findProjectForPrincipal(db, principal, item.project_id).catch(() => {
    throw itemNotFound();
  });
  const problem = labelValueProblem(project.label_schema as LabelSchema, req.value);
  if (problem) throw validationFailed([{ field: 'value', message: problem }]);
  const submitted = { itemId: req.item_id, value: req.value, annotatorId: principal.userId };
  // Only a task's workflow remembers a decision by its key; a free annotation has nothing to join.
  if (req.idempotency_key && !req.task_id) throw validationFailed([{ field: 'idempotency_key', message: 'only with task_id' }]);

  if (req.task_id) {
    const task = await findTaskForPrincipal(db, principal, req.task_id);
    if (!task.item_ids.includes(req.item_id)) throw validationFailed([{ field: 'task_id', message: 'the item is not part of this task' }]);
    if (task.kind === 'expert') throw conflictError('An expert task is resolved through POST /annotation/conflicts/resolve');
    const verdict = await submitReviewDecision(deps, principal, {
      task_id: task.id,
      decision: task.kind === 'annotate' ? 'submit' : 'modify',
      value: req.value,
      item_ids: [req.item_id],
      lead_time_ms: req.lead_time_ms,
      idempotency_key: req.idempotency_key,
    });
    const c = verdict.conflicts.find((x) => x.item_id === req.item_id);
    return {
      ...submitted,
      annotationId: verdict.annotation_ids[req.item_id],
      taskId: task.id,
      verdict,
      conflict: c ? { conflictId: c.conflict_id, created: c.created } : null,
    };
  }

  const { annotationId, conflict: c } = await submitAnnotation(
    { db, client: deps.temporal.client, config: deps.config, logger: deps.logger },
    { tenantId: principal.tenantId, projectId: project.id, itemId: req.item_id, annotatorId: principal.userId, value: req.value, leadTimeMs: req.lead_time_ms ?? null },
  );
  return { ...submitted, annotationId, taskId: null, verdict: null, conflict: c ? { conflictId: c.conflictId, created: c.created } : null };
}
