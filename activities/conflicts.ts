import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import { autoResolve, type AutoResolution } from '../src/annotation/conflict-rules';
import { valueFromKey } from '../src/annotation/label-value';
import type { ConflictRow } from '../src/db/models';
import { appendEvent } from '../src/events/outbox';
import type { AnnotationValue, LabelSchema } from '../src/llm/types';
import { humanRating, type ConflictDecision } from '../src/annotation/conflict-decisions';
import { latestHumanValues } from '../src/data/human-annotations';
import { refreshFinalLabels } from '../src/data/final-labels';

export interface ConflictActivityDeps {
  db: Knex;
}

export interface ConflictInput {
  annotation_id: string;
  annotator_id: string;
  value: AnnotationValue;
  created_at: string;
}

/** Conflict activities: automatic resolution, the expert task, and the expert's resolution. */
/** A conflict's inputs: each annotator's latest human value on the item. */
function conflictInputsOf(rows: { id: string; annotator_id: string; value: unknown; created_at: Date | string }[]): ConflictInput[] {
  return rows.map((r) => ({ annotation_id: r.id, annotator_id: r.annotator_id, value: r.value as ConflictInput['value'], created_at: new Date(r.created_at).toISOString() }));
}

export function createConflictActivities(deps: ConflictActivityDeps) {
  const { db } = deps;

  async function audit(trx: Knex.Transaction, row: { tenantId: string; projectId: string; actor: string; action: string; conflictId: string; details: unknown }) {
    await trx('audit_log').insert({
      tenant_id: row.tenantId,
      project_id: row.projectId,
      actor: row.actor,
      action: row.action,
      entity_type: 'conflict',
      entity_id: row.conflictId,
      details: JSON.stringify(row.details),
    });
  }

  return {
    /**
     * Announces the conflict (conflict.detected, once), snapshots its inputs, and resolves it when
     * the margin allows. Reads only its item: the decision is the `suggestion` validation computed
     * (Dawid–Skene fitted once per run, or majority vote) while the item's inputs are still the
     * ones it was computed on; otherwise (a /submit, the sweep, inputs changed since) majority
     * vote over the item's own ratings. Only an open conflict is resolved.
     */
    async autoResolveConflict(input: {
      tenantId: string;
      projectId: string;
      conflictId: string;
      itemId: string;
      labelSchema: LabelSchema;
      minMargin: number;
      dsMinItems: number;
      suggestion?: ConflictDecision;
    }): Promise<AutoResolution & { applied: boolean; value: AnnotationValue | null }> {
      const itemRows = await latestHumanValues(db, input.projectId, input.itemId);
      const inputs = conflictInputsOf(itemRows);
      const current = itemRows.map((r) => r.id).sort();
      const suggested = input.suggestion && input.suggestion.annotationIds.join() === current.join() ? input.suggestion.decision : null;
      const decision =
        suggested ??
        autoResolve({
          itemId: input.itemId,
          itemRatings: itemRows.map(humanRating),
          labels: input.labelSchema.type === 'single_label' ? input.labelSchema.labels : [],
          minMargin: input.minMargin,
          dsMinItems: input.dsMinItems,
        });
      // No label on a tie: nothing is suggested and an expert decides.
      const value = decision.label === null ? null : valueFromKey(input.labelSchema, decision.label);
      const applied = await db.transaction(async (trx) => {
        await trx('conflicts').where({ id: input.conflictId }).update({ inputs: JSON.stringify(inputs), updated_at: trx.fn.now() });
        await appendEvent(trx as unknown as Knex, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          type: 'conflict.detected',
          payload: { conflict_id: input.conflictId, item_id: input.itemId, inputs, suggested: { method: decision.method, value, margin: decision.margin } },
          dedupeKey: `conflict.detected:${input.conflictId}`,
        });
        if (!decision.resolved) return false;
        const n = await trx('conflicts')
          .where({ id: input.conflictId, status: 'open' })
          .update({
            status: 'auto_resolved',
            method: decision.method,
            resolved_value: JSON.stringify(value),
            resolved_by: 'system',
            reason: `${decision.method}: margin ${decision.margin.toFixed(3)} ≥ ${input.minMargin}`,
            resolved_at: trx.fn.now(),
            updated_at: trx.fn.now(),
          });
        if (!n) return false;
        await audit(trx, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          actor: 'system',
          action: 'conflict.auto_resolved',
          conflictId: input.conflictId,
          details: { method: decision.method, value, margin: decision.margin, tied: decision.tied, votes: decision.votes, posterior: decision.posterior ?? null, ds_fit: decision.dsFit ?? null, ds_skipped: decision.dsSkipped ?? null, inputs },
        });
        await refreshFinalLabels(trx, { tenantId: input.tenantId, projectId: input.projectId, itemIds: [input.itemId] });
        await appendEvent(trx as unknown as Knex, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          type: 'conflict.resolved',
          payload: { conflict_id: input.conflictId, item_id: input.itemId, status: 'auto_resolved', method: decision.method, value, resolved_by: 'system' },
          dedupeKey: `conflict.resolved:${input.conflictId}`,
        });
        return true;
      });
      return { ...decision, applied, value };
    },

    /** The expert task of a conflict (a row the tasks API lists; the conflict workflow owns it). */
    async ensureExpertTask(input: { tenantId: string; projectId: string; conflictId: string; itemId: string; taskId: string; workflowId: string; dueInSeconds: number | null }): Promise<void> {
      await db.transaction(async (trx) => {
        await trx('tasks')
          .insert({
            id: input.taskId,
            tenant_id: input.tenantId,
            project_id: input.projectId,
            kind: 'expert',
            item_ids: JSON.stringify([input.itemId]),
            item_count: 1,
            status: 'open',
            strategy: 'least_loaded',
            due_in_seconds: input.dueInSeconds,
            workflow_id: input.workflowId,
            source: 'conflict',
            source_id: input.conflictId,
            conflict_id: input.conflictId,
            created_by: 'system',
          })
          .onConflict('id')
          .ignore();
        await trx('conflicts').where({ id: input.conflictId }).update({ task_id: input.taskId, updated_at: trx.fn.now() });
      });
    },

    /** The expert's (or a manager's) resolution; an already resolved conflict is refused. */
    async resolveConflict(input: {
      tenantId: string;
      projectId: string;
      conflictId: string;
      taskId: string | null;
      userId: string;
      value: AnnotationValue;
      reason: string | null;
    }): Promise<{ status: 'resolved' }> {
      await db.transaction(async (trx) => {
        const conflict: ConflictRow | undefined = await trx('conflicts').where({ id: input.conflictId, tenant_id: input.tenantId }).forUpdate().first();
        if (!conflict) throw ApplicationFailure.nonRetryable('conflict not found', 'ConflictNotFound');
        if (conflict.status !== 'open') {
          // A retry of a resolution that did commit is a success; anything else is a refusal.
          if (conflict.status === 'resolved' && conflict.resolved_by === input.userId) return;
          throw ApplicationFailure.nonRetryable(`The conflict is already ${conflict.status}`, 'AlreadyResolved');
        }
        // The inputs the expert decided on are the item's latest human values now, not the snapshot
        // the automatic step took: a submission that committed after it belongs to the decision.
        const inputs = conflictInputsOf(await latestHumanValues(trx, input.projectId, conflict.item_id));
        await trx('conflicts')
          .where({ id: input.conflictId })
          .update({
            status: 'resolved',
            method: 'expert',
            inputs: JSON.stringify(inputs),
            resolved_value: JSON.stringify(input.value),
            resolved_by: input.userId,
            reason: input.reason,
            resolved_at: trx.fn.now(),
            updated_at: trx.fn.now(),
          });
        await audit(trx, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          actor: input.userId,
          action: 'conflict.resolved',
          conflictId: input.conflictId,
          details: { method: 'expert', value: input.value, reason: input.reason, inputs },
        });
        await refreshFinalLabels(trx, { tenantId: input.tenantId, projectId: input.projectId, itemIds: [conflict.item_id] });
        if (input.taskId) {
          await trx('tasks')
            .where({ id: input.taskId })
            .whereIn('status', ['open', 'escalated'])
            .update({
              status: 'completed',
              completed_at: trx.fn.now(),
              updated_at: trx.fn.now(),
              result: JSON.stringify({ resolved_by: input.userId, value: input.value }),
            });
          await appendEvent(trx as unknown as Knex, {
            tenantId: input.tenantId,
            projectId: input.projectId,
            type: 'review.completed',
            payload: { task_id: input.taskId, kind: 'expert', status: 'completed', conflict_id: input.conflictId },
            dedupeKey: `review.completed:${input.taskId}`,
          });
        }
        await appendEvent(trx as unknown as Knex, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          type: 'conflict.resolved',
          payload: { conflict_id: input.conflictId, item_id: conflict.item_id, status: 'resolved', method: 'expert', value: input.value, resolved_by: input.userId },
          dedupeKey: `conflict.resolved:${input.conflictId}`,
        });
      });
      return { status: 'resolved' };
    },
  };
}

export type ConflictActivities = ReturnType<typeof createConflictActivities>;
