import crypto from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import {
  ELIGIBLE_ROLES,
  ESCALATION_ROLES,
  groupItems,
  pickAssignee,
  pickExpertAssignee,
  type AssignmentStrategy,
  type TaskKind,
} from '../src/annotation/assignment';
import { thresholdsFrom } from '../src/annotation/routing';
import type { TaskRow } from '../src/db/models';
import { appendEvent } from '../src/events/outbox';
import type { AnnotationValue } from '../src/llm/types';
import { openConflicts, startConflictWorkflows, type OpenedConflict } from '../src/tasks/conflicts';
import { startTask, taskIdFor, REVIEW_TASK_SIZE } from '../src/tasks/start-task';
import { loadCandidates } from '../src/data/task-candidates';
import { iso } from '../src/formats';
import { refreshFinalLabels } from '../src/data/final-labels';

export interface TaskActivityDeps {
  db: Knex;
}

export interface AssignTaskInput {
  tenantId: string;
  projectId: string;
  taskId: string;
  kind: TaskKind;
  strategy: AssignmentStrategy;
  explicitAssigneeId: string | null;
  exclude: string[];
  /** 1 for the first assignment, +1 for each later one: makes a retried call a no-op. */
  attempt: number;
  escalate: boolean;
  dueInSeconds: number | null;
  reason: string;
}

export interface AssignTaskResult {
  assigneeId: string | null;
  dueAt: string | null;
  status: 'open' | 'escalated';
}

const DECISION_STATUS: Record<string, string> = { approve: 'approved', reject: 'rejected', modify: 'modified', submit: 'submitted' };

/** What recordTaskDecision returns: the annotation per item, and the items' open conflicts. */
export interface RecordedDecision {
  annotationIds: Record<string, string>;
  conflicts: DecisionConflict[];
}
export type DecisionConflict = Pick<OpenedConflict, 'itemId' | 'conflictId' | 'created'>;

/** Task activities: assignment, decisions, completion, and review tasks for a finished pre-annotation job. */
export function createTaskActivities(deps: TaskActivityDeps) {
  const { db } = deps;

  return {
    /**
     * Assigns (or reassigns, or escalates) a task. Serialized per project by an advisory lock so
     * concurrent assignments see each other's load; idempotent by `attempt`.
     */
    async assignTask(input: AssignTaskInput): Promise<AssignTaskResult> {
      return db.transaction(async (trx) => {
        await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`assign:${input.projectId}`]);
        const task: TaskRow | undefined = await trx('tasks').where({ id: input.taskId, tenant_id: input.tenantId }).forUpdate().first();
        if (!task) throw ApplicationFailure.nonRetryable(`task ${input.taskId} not found`, 'TaskNotFound');
        if (task.attempts >= input.attempt) {
          return { assigneeId: task.assignee_id, dueAt: iso(task.due_at), status: task.status === 'escalated' ? 'escalated' : 'open' };
        }
        let assigneeId = input.explicitAssigneeId;
        if (!assigneeId) {
          const roles = input.escalate ? ESCALATION_ROLES : ELIGIBLE_ROLES[input.kind];
          const candidates = await loadCandidates(trx, input.projectId, roles);
          const last = await trx('tasks')
            .where({ project_id: input.projectId, kind: input.kind })
            .whereNot('id', input.taskId)
            .whereNotNull('assigned_at')
            .whereNotNull('assignee_id')
            .orderBy('assigned_at', 'desc')
            .first('assignee_id');
          const pick = { strategy: input.strategy, candidates, exclude: input.exclude, lastAssigneeId: last?.assignee_id ?? null };
          assigneeId = pickAssignee(pick);
          if (assigneeId === null && candidates.length === 0 && (input.escalate || input.kind === 'expert')) {
            // No manager/expert member at all: the project's creator takes the expert work.
            const project = await trx('projects').where({ id: input.projectId, tenant_id: input.tenantId }).first('created_by');
            assigneeId = pickExpertAssignee({ ...pick, projectCreatorId: project?.created_by ?? null });
          }
        }
        const status = input.escalate ? 'escalated' : 'open';
        const [row] = await trx('tasks')
          .where({ id: input.taskId })
          .update({
            assignee_id: assigneeId,
            attempts: input.attempt,
            status,
            assigned_at: trx.fn.now(),
            claimed_at: null,
            due_at: input.dueInSeconds ? trx.raw('now() + make_interval(secs => ?)', [input.dueInSeconds]) : null,
            escalated_at: input.escalate ? trx.fn.now() : task.escalated_at,
            assignees: assigneeId && !(task.assignees as string[]).includes(assigneeId)
              ? JSON.stringify([...(task.assignees as string[]), assigneeId])
              : JSON.stringify(task.assignees),
            updated_at: trx.fn.now(),
          })
          .returning(['due_at']);
        const action = input.escalate ? 'task.escalated' : input.attempt === 1 ? 'task.assigned' : 'task.reassigned';
        await trx('audit_log').insert({
          tenant_id: input.tenantId,
          project_id: input.projectId,
          actor: 'system',
          action,
          entity_type: 'task',
          entity_id: input.taskId,
          details: JSON.stringify({
            assignee_id: assigneeId,
            previous_assignee_id: task.assignee_id,
            attempt: input.attempt,
            strategy: input.explicitAssigneeId ? 'explicit' : input.strategy,
            reason: input.reason,
          }),
        });
        await appendEvent(trx as unknown as Knex, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          type: 'review.assigned',
          payload: {
            task_id: input.taskId,
            kind: task.kind,
            assignee_id: assigneeId,
            previous_assignee_id: task.assignee_id,
            due_at: iso(row.due_at),
            attempt: input.attempt,
            escalated: input.escalate,
            reason: input.reason,
            item_count: task.item_count,
            conflict_id: task.conflict_id,
          },
          dedupeKey: `review.assigned:${input.taskId}:${input.attempt}`,
        });
        return { assigneeId, dueAt: iso(row.due_at), status };
      });
    },

    async recordTaskClaim(input: { tenantId: string; taskId: string; userId: string }): Promise<void> {
      await db('tasks')
        .where({ id: input.taskId, tenant_id: input.tenantId, assignee_id: input.userId })
        .update({ claimed_at: db.fn.now(), updated_at: db.fn.now() });
    },

    /**
     * Writes the human annotations of a decision, one per (task, item): a retried call inserts
     * nothing twice. `approve` without a value confirms the item's latest AI value. In the same
     * transaction, opens a conflict for each decided item whose human annotations now disagree;
     * after commit, starts their conflictResolution workflows. A start that fails fails the
     * activity: its retry finds the committed conflict still unstarted and starts it (the
     * workers' sweep is the backstop). No API process is involved, so none can drop a conflict.
     */
    async recordTaskDecision(input: {
      tenantId: string;
      projectId: string;
      taskId: string;
      kind: TaskKind;
      userId: string;
      decision: string;
      value: AnnotationValue | null;
      itemIds: string[];
      leadTimeMs: number | null;
    }): Promise<RecordedDecision> {
      const recorded = await db.transaction(async (trx) => {
        let aiValues = new Map<string, AnnotationValue>();
        if (input.value === null && input.decision === 'approve') {
          const rows = await trx('annotations')
            .where({ project_id: input.projectId, source: 'ai' })
            .whereIn('item_id', input.itemIds)
            .whereNotNull('value')
            .orderBy('created_at', 'asc')
            .select('item_id', 'value');
          aiValues = new Map(rows.map((r: { item_id: string; value: AnnotationValue }) => [r.item_id, r.value]));
        }
        const inserted = await trx('annotations')
          .insert(
            input.itemIds.map((itemId) => {
              const value = input.value ?? aiValues.get(itemId) ?? null;
              return {
                id: crypto.randomUUID(),
                tenant_id: input.tenantId,
                project_id: input.projectId,
                item_id: itemId,
                source: 'human',
                annotator_id: input.userId,
                value: value === null ? null : JSON.stringify(value),
                status: DECISION_STATUS[input.decision] ?? 'submitted',
                task_id: input.taskId,
                lead_time_ms: input.leadTimeMs,
              };
            }),
          )
          .onConflict(trx.raw("(task_id, item_id) WHERE task_id IS NOT NULL AND source = 'human'"))
          .ignore()
          .returning('id');
        if (inserted.length) {
          await trx('audit_log').insert({
            tenant_id: input.tenantId,
            project_id: input.projectId,
            actor: input.userId,
            action: 'task.decision',
            entity_type: 'task',
            entity_id: input.taskId,
            details: JSON.stringify({ decision: input.decision, item_ids: input.itemIds, value: input.value, lead_time_ms: input.leadTimeMs }),
          });
          await trx('tasks').where({ id: input.taskId }).update({ updated_at: trx.fn.now() });
        }
        const rows = await trx('annotations')
          .where({ task_id: input.taskId, source: 'human' })
          .whereIn('item_id', input.itemIds)
          .select('id', 'item_id');
        const conflicts = await openConflicts(trx, { tenantId: input.tenantId, projectId: input.projectId, itemIds: input.itemIds });
        await refreshFinalLabels(trx, { tenantId: input.tenantId, projectId: input.projectId, itemIds: input.itemIds });
        return { annotationIds: Object.fromEntries(rows.map((r: { id: string; item_id: string }) => [r.item_id, r.id])), conflicts };
      });
      const ctx = Context.current();
      await startConflictWorkflows(db, ctx.client, { TEMPORAL_TASK_QUEUE: ctx.info.taskQueue }, recorded.conflicts);
      return {
        annotationIds: recorded.annotationIds,
        conflicts: recorded.conflicts.map((c) => ({ itemId: c.itemId, conflictId: c.conflictId, created: c.created })),
      };
    },

    /** Closes a task whose every item has a decision; emits review.completed once. */
    async completeTask(input: {
      tenantId: string;
      projectId: string;
      taskId: string;
      kind: TaskKind;
      /** Closes the task as cancelled (by whom, why) instead of completed. */
      cancelled?: { byUserId: string; reason: string | null };
    }): Promise<{ status: 'completed' | 'cancelled' }> {
      const status = input.cancelled ? 'cancelled' : 'completed';
      await db.transaction(async (trx) => {
        const decisions: { status: string; count: string }[] = await trx('annotations')
          .where({ task_id: input.taskId, source: 'human' })
          .groupBy('status')
          .select('status', trx.raw('count(*) AS count'));
        const result = {
          decisions: Object.fromEntries(decisions.map((d) => [d.status, Number(d.count)])),
          ...(input.cancelled ? { cancelled_by: input.cancelled.byUserId, reason: input.cancelled.reason } : {}),
        };
        const updated = await trx('tasks')
          .where({ id: input.taskId, tenant_id: input.tenantId })
          .whereIn('status', ['open', 'escalated'])
          .update({ status, completed_at: trx.fn.now(), updated_at: trx.fn.now(), result: JSON.stringify(result) })
          .returning(['assignee_id']);
        if (updated.length) {
          await trx('audit_log').insert({
            tenant_id: input.tenantId,
            project_id: input.projectId,
            actor: input.cancelled?.byUserId ?? 'system',
            action: `task.${status}`,
            entity_type: 'task',
            entity_id: input.taskId,
            details: JSON.stringify(result),
          });
        }
        await appendEvent(trx as unknown as Knex, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          type: 'review.completed',
          payload: { task_id: input.taskId, kind: input.kind, status, ...result },
          dedupeKey: `review.completed:${input.taskId}`,
        });
      });
      return { status };
    },

    /**
     * The items of a finished pre-annotation job whose AI confidence is below the project's low
     * threshold, grouped into review tasks of at most REVIEW_TASK_SIZE items, each with its own
     * reviewAssignment workflow. Task ids derive from the job id and group index and workflow ids
     * from task ids, so a retry starts nothing twice.
     */
    /**
     * Review tasks for a finished pre-annotation job's low-confidence items. Retry round n
     * (POST …/retry-failed) covers only the items it re-ran, under task ids of its own.
     */
    async createLowConfidenceReviewTasks(input: { tenantId: string; projectId: string; jobId: string; round?: number }): Promise<{ tasks: number; items: number }> {
      const project = await db('projects').where({ id: input.projectId, tenant_id: input.tenantId }).first('routing');
      const low = thresholdsFrom(project?.routing).low_confidence_threshold;
      const itemIds: string[] = await db('annotations as a')
        .join('job_items as ji', function () {
          this.on('ji.item_id', 'a.item_id').andOn('ji.job_id', 'a.job_id');
        })
        .where('a.job_id', input.jobId)
        .whereNot('a.status', 'failed')
        .whereNotNull('a.confidence')
        .andWhere('a.confidence', '<', low)
        .modify((q) => {
          if (input.round) q.andWhere('ji.seq', '>=', db.raw("(SELECT (params->>'retry_from_seq')::int FROM jobs WHERE id = ?)", [input.jobId]));
        })
        .orderBy('ji.seq')
        .pluck('a.item_id');
      const groups = groupItems(itemIds, REVIEW_TASK_SIZE);
      const ctx = Context.current();
      for (let i = 0; i < groups.length; i++) {
        await startTask(db, ctx.client, { TEMPORAL_TASK_QUEUE: ctx.info.taskQueue }, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          taskId: taskIdFor(input.round ? `pre-annotation:${input.jobId}:retry-${input.round}:review:${i}` : `pre-annotation:${input.jobId}:review:${i}`),
          kind: 'review',
          itemIds: groups[i],
          createdBy: 'system',
          source: 'pre_annotation',
          sourceId: input.jobId,
        });
        ctx.heartbeat(i);
      }
      return { tasks: groups.length, items: itemIds.length };
    },
  };
}

export type TaskActivities = ReturnType<typeof createTaskActivities>;
