import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { DEFAULT_DS_MIN_ITEMS, DEFAULT_MIN_MARGIN } from '../annotation/conflict-rules';
import { valueKey } from '../annotation/label-value';
import type { Config } from '../config';
import type { LabelSchema } from '../llm/types';
import { JOB_TYPE, PROJECT_ID, TENANT_ID } from '../temporal/search-attributes';
import { workflowIds } from '../temporal/workflow-ids';
import type { ConflictResolutionInput } from '../../workflows/conflict-resolution';
import { latestHumanValues } from '../../activities/conflicts';
import { DEFAULT_MAX_REASSIGNMENTS, taskIdFor } from './start-task';

export const CONFLICT_JOB_TYPE = 'conflict';
/** Deadline of an expert's conflict task when the project's routing names none (24 h). */
export const DEFAULT_EXPERT_DUE_IN_SECONDS = 24 * 3600;

/**
 * Project-level knobs, read from `projects.routing` when present:
 * `annotators_per_item` (conflicts are looked for only when ≥ 2), `conflict_min_margin`,
 * `conflict_ds_min_items`, `conflict_expert_due_in_seconds`, `conflict_max_reassignments`.
 */
export function conflictSettings(routing: Record<string, unknown> | null | undefined) {
  const num = (k: string, d: number) => (typeof routing?.[k] === 'number' && Number.isFinite(routing[k]) ? (routing[k] as number) : d);
  return {
    annotatorsPerItem: num('annotators_per_item', 1),
    minMargin: num('conflict_min_margin', DEFAULT_MIN_MARGIN),
    dsMinItems: num('conflict_ds_min_items', DEFAULT_DS_MIN_ITEMS),
    expertDueInSeconds: num('conflict_expert_due_in_seconds', DEFAULT_EXPERT_DUE_IN_SECONDS),
    maxReassignments: num('conflict_max_reassignments', DEFAULT_MAX_REASSIGNMENTS),
  };
}

/**
 * After a human annotation: if the project wants ≥ 2 annotators per item and the item's human
 * annotations (latest per annotator) disagree, opens a conflict and starts its
 * `conflictResolution` workflow. Exactly one open conflict per item however many submissions race:
 * the unique partial index decides, and only the inserter starts the workflow.
 */
export async function detectConflict(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  req: { tenantId: string; projectId: string; itemId: string; detectedBy?: string },
): Promise<{ conflictId: string; created: boolean; workflowId: string | null } | null> {
  const project = await db('projects').where({ id: req.projectId, tenant_id: req.tenantId }).first('label_schema', 'routing');
  if (!project) return null;
  const s = conflictSettings(project.routing);
  if (s.annotatorsPerItem < 2) return null;
  const rows = await latestHumanValues(db, req.projectId, req.itemId);
  const keys = new Set(rows.map((r) => valueKey(r.value)));
  if (rows.length < 2 || keys.size < 2) return null;

  const conflictId = crypto.randomUUID();
  const workflowId = workflowIds.conflict(req.tenantId, conflictId);
  const inserted = await db.raw(
    `INSERT INTO conflicts (id, tenant_id, project_id, item_id, status, workflow_id, detected_by, inputs)
     VALUES (?, ?, ?, ?, 'open', ?, ?, ?)
     ON CONFLICT (item_id) WHERE status = 'open' DO NOTHING
     RETURNING id`,
    [conflictId, req.tenantId, req.projectId, req.itemId, workflowId, req.detectedBy ?? 'submission', JSON.stringify(rows.map((r) => ({ annotation_id: r.id, annotator_id: r.annotator_id, value: r.value })))],
  );
  if (!inserted.rows.length) {
    const open = await db('conflicts').where({ item_id: req.itemId, status: 'open' }).first('id', 'workflow_id');
    return open ? { conflictId: open.id, created: false, workflowId: open.workflow_id } : null;
  }
  await db('audit_log').insert({
    tenant_id: req.tenantId,
    project_id: req.projectId,
    actor: 'system',
    action: 'conflict.detected',
    entity_type: 'conflict',
    entity_id: conflictId,
    details: JSON.stringify({ item_id: req.itemId, annotators: rows.map((r) => r.annotator_id) }),
  });
  await startConflictWorkflow(client, settings, {
    tenantId: req.tenantId,
    projectId: req.projectId,
    conflictId,
    itemId: req.itemId,
    labelSchema: project.label_schema as LabelSchema,
    minMargin: s.minMargin,
    dsMinItems: s.dsMinItems,
    expertTaskId: taskIdFor(`conflict:${conflictId}:expert`),
    expertDueInSeconds: s.expertDueInSeconds,
    maxReassignments: s.maxReassignments,
  });
  return { conflictId, created: true, workflowId };
}

export async function startConflictWorkflow(client: Client, settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>, input: ConflictResolutionInput): Promise<void> {
  try {
    await client.workflow.start('conflictResolution', {
      taskQueue: settings.TEMPORAL_TASK_QUEUE,
      workflowId: workflowIds.conflict(input.tenantId, input.conflictId),
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: TENANT_ID, value: input.tenantId },
        { key: PROJECT_ID, value: input.projectId },
        { key: JOB_TYPE, value: CONFLICT_JOB_TYPE },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
