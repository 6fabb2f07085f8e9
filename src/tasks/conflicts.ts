import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import { DEFAULT_DS_MIN_ITEMS, DEFAULT_MIN_MARGIN } from '../annotation/conflict-rules';
import { conflictLockKeys, disagreeingItems } from '../annotation/disagreement';
import type { Config } from '../config';
import type { ConflictRow } from '../db/models';
import type { LabelSchema } from '../llm/types';
import { JOB_TYPE, PROJECT_ID, TENANT_ID } from '../temporal/search-attributes';
import { workflowIds } from '../temporal/workflow-ids';
import { conflictResolution, type ConflictResolutionInput } from '../../workflows/conflict-resolution';
import { latestHumanValues } from '../data/human-annotations';
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

/** An open conflict of an item, as the conflict command leaves it. */
export interface OpenedConflict {
  tenantId: string;
  projectId: string;
  itemId: string;
  conflictId: string;
  workflowId: string;
  /** This call inserted it (false: the item already had an open conflict). */
  created: boolean;
  /** Its conflictResolution workflow is known to be started (workflow_started_at is set). */
  workflowStarted: boolean;
}

/**
 * THE conflict command, run in the transaction that writes human annotations (or a transaction of
 * its own): for each item whose latest human values disagree, opens one conflict (row + audit) or
 * returns the item's open one. Exactly one open conflict per item however many writers race: each
 * transaction first takes the items' advisory locks (sorted, so no deadlock) and only then reads,
 * so of two concurrent disagreeing writers the second reads the first's committed annotation; the
 * unique partial index remains the last word. The workflow is started after commit
 * (`startConflictWorkflows`); a crash in between is repaired by the workers' sweep.
 */
export async function openConflicts(
  trx: Knex.Transaction,
  req: { tenantId: string; projectId: string; itemIds: string[]; detectedBy?: string },
): Promise<OpenedConflict[]> {
  if (!req.itemIds.length) return [];
  const project = await trx('projects').where({ id: req.projectId, tenant_id: req.tenantId }).first('routing');
  if (!project || conflictSettings(project.routing).annotatorsPerItem < 2) return [];
  // One statement; unnest yields the sorted keys in array order, so the locks are taken in that order.
  await trx.raw('SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM unnest(?::text[]) AS k', [conflictLockKeys(req.itemIds)]);
  const disagreeing = disagreeingItems(await latestHumanValues(trx, req.projectId, [...new Set(req.itemIds)]));
  if (!disagreeing.size) return [];

  const candidates = [...disagreeing].map(([itemId, rows]) => {
    const id = crypto.randomUUID();
    return { id, itemId, workflowId: workflowIds.conflict(req.tenantId, id), rows };
  });
  const { rows: inserted } = await trx.raw(
    `INSERT INTO conflicts (id, tenant_id, project_id, item_id, status, workflow_id, detected_by, inputs)
     SELECT c.id, ?, ?, c.item_id, 'open', c.workflow_id, ?, c.inputs
       FROM jsonb_to_recordset(?::jsonb) AS c(id uuid, item_id uuid, workflow_id text, inputs jsonb)
     ON CONFLICT (item_id) WHERE status = 'open' DO NOTHING
     RETURNING id, item_id`,
    [
      req.tenantId,
      req.projectId,
      req.detectedBy ?? 'submission',
      JSON.stringify(
        candidates.map((c) => ({
          id: c.id,
          item_id: c.itemId,
          workflow_id: c.workflowId,
          inputs: c.rows.map((r) => ({ annotation_id: r.id, annotator_id: r.annotator_id, value: r.value })),
        })),
      ),
    ],
  );
  const createdIds = new Set((inserted as { id: string }[]).map((r) => r.id));
  const created = candidates.filter((c) => createdIds.has(c.id));
  if (created.length) {
    await trx('audit_log').insert(
      created.map((c) => ({
        tenant_id: req.tenantId,
        project_id: req.projectId,
        actor: 'system',
        action: 'conflict.detected',
        entity_type: 'conflict',
        entity_id: c.id,
        details: JSON.stringify({ item_id: c.itemId, annotators: c.rows.map((r) => r.annotator_id) }),
      })),
    );
  }
  const existing: (Pick<ConflictRow, 'id' | 'item_id' | 'workflow_started_at'> & { workflow_id: string })[] = created.length === candidates.length
    ? []
    : await trx('conflicts')
        .where({ status: 'open' })
        .whereIn('item_id', candidates.filter((c) => !createdIds.has(c.id)).map((c) => c.itemId))
        .select('id', 'item_id', 'workflow_id', 'workflow_started_at');
  const base = { tenantId: req.tenantId, projectId: req.projectId };
  return [
    ...created.map((c) => ({ ...base, itemId: c.itemId, conflictId: c.id, workflowId: c.workflowId, created: true, workflowStarted: false })),
    ...existing.map((e) => ({ ...base, itemId: e.item_id, conflictId: e.id, workflowId: e.workflow_id, created: false, workflowStarted: e.workflow_started_at !== null })),
  ];
}

/**
 * Starts the conflictResolution workflow of each conflict not yet known to be started, and records
 * the start; returns how many it started. Idempotent: the workflow id rejects duplicates (an already started run is a success),
 * so the creator, an activity retry and the sweep may all try. Throws the first start that failed
 * otherwise, after trying the others.
 */
export async function startConflictWorkflows(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  conflicts: Pick<OpenedConflict, 'tenantId' | 'projectId' | 'itemId' | 'conflictId' | 'workflowStarted'>[],
): Promise<number> {
  const pending = conflicts.filter((c) => !c.workflowStarted);
  const projects = new Map<string, { label_schema: LabelSchema; routing: Record<string, unknown> | null } | undefined>();
  let started = 0;
  let firstError: unknown;
  for (const c of pending) {
    if (!projects.has(c.projectId)) projects.set(c.projectId, await db('projects').where({ id: c.projectId }).first('label_schema', 'routing'));
    const project = projects.get(c.projectId);
    if (!project) continue;
    const s = conflictSettings(project.routing);
    try {
      await startConflictWorkflow(client, settings, {
        tenantId: c.tenantId,
        projectId: c.projectId,
        conflictId: c.conflictId,
        itemId: c.itemId,
        labelSchema: project.label_schema,
        minMargin: s.minMargin,
        dsMinItems: s.dsMinItems,
        expertTaskId: taskIdFor(`conflict:${c.conflictId}:expert`),
        expertDueInSeconds: s.expertDueInSeconds,
        maxReassignments: s.maxReassignments,
      });
      await db('conflicts').where({ id: c.conflictId }).whereNull('workflow_started_at').update({ workflow_started_at: db.fn.now() });
      started++;
    } catch (err) {
      firstError ??= err;
    }
  }
  if (firstError !== undefined) throw firstError;
  return started;
}

/**
 * Opens the conflicts of items whose human annotations disagree, in a transaction of its own, then
 * starts their workflows. For callers whose annotations are already committed: the validation
 * job's disagreeing items, and the history recorder. Returns the item's open conflict, or null.
 */
export async function detectConflict(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  req: { tenantId: string; projectId: string; itemId: string; detectedBy?: string },
): Promise<{ conflictId: string; created: boolean; workflowId: string | null } | null> {
  const [c] = await db.transaction((trx) => openConflicts(trx, { ...req, itemIds: [req.itemId] }));
  if (!c) return null;
  await startConflictWorkflows(db, client, settings, [c]);
  return { conflictId: c.conflictId, created: c.created, workflowId: c.workflowId };
}

export async function startConflictWorkflow(client: Client, settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>, input: ConflictResolutionInput): Promise<void> {
  try {
    await client.workflow.start(conflictResolution, {
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
