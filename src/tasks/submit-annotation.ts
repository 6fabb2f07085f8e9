import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { AnnotationValue } from '../llm/types';
import { openConflicts, startConflictWorkflows, type OpenedConflict } from './conflicts';

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
    return openConflicts(trx, { tenantId: req.tenantId, projectId: req.projectId, itemIds: [req.itemId] });
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
