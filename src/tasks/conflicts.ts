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
import { conflictResolution, type ConflictResolutionInput, type ConflictSuggestion } from '../../workflows/conflict-resolution';
import { latestHumanValues, type HumanValue } from '../data/human-annotations';
import { DEFAULT_MAX_REASSIGNMENTS, taskIdFor } from './start-task';
import { workflowPriority } from '../temporal/priority';

export const CONFLICT_JOB_TYPE = 'conflict';
/**
 * Most conflicts one validation run opens (routing `conflict_max_per_validation`). The pass fills
 * it in item order with items that need a decision (settled and already open ones are skipped), so
 * each validation of a large backlog opens the next ones and an unchanged, settled project opens none.
 */
export const DEFAULT_CONFLICTS_PER_VALIDATION = 1000;
/** Deadline of an expert's conflict task when the project's routing names none (24 h). */
export const DEFAULT_EXPERT_DUE_IN_SECONDS = 24 * 3600;

/**
 * Project-level knobs, read from `projects.routing` when present:
 * `annotators_per_item` (conflicts are looked for only when ≥ 2), `conflict_min_margin`,
 * `conflict_ds_min_items`, `conflict_expert_due_in_seconds`, `conflict_max_reassignments`,
 * `conflict_max_per_validation`.
 */
export function conflictSettings(routing: Record<string, unknown> | null | undefined) {
  const num = (k: string, d: number) => (typeof routing?.[k] === 'number' && Number.isFinite(routing[k]) ? (routing[k] as number) : d);
  return {
    annotatorsPerItem: num('annotators_per_item', 1),
    minMargin: num('conflict_min_margin', DEFAULT_MIN_MARGIN),
    dsMinItems: num('conflict_ds_min_items', DEFAULT_DS_MIN_ITEMS),
    expertDueInSeconds: num('conflict_expert_due_in_seconds', DEFAULT_EXPERT_DUE_IN_SECONDS),
    maxReassignments: num('conflict_max_reassignments', DEFAULT_MAX_REASSIGNMENTS),
    maxPerValidation: num('conflict_max_per_validation', DEFAULT_CONFLICTS_PER_VALIDATION),
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
  /** The automatic decision the caller computed on the conflict's inputs (validation), for its workflow. */
  suggestion?: ConflictSuggestion;
}

/** An item's open conflict, else its latest resolved (or auto-resolved) one, as the settled check reads it. */
interface ConflictState {
  id: string;
  item_id: string;
  status: ConflictRow['status'];
  inputs: { annotation_id: string }[] | null;
  workflow_id: string;
  workflow_started_at: Date | string | null;
}

/** Each item's open conflict if it has one, else its latest closed one: one indexed statement. */
async function conflictStates(db: Knex | Knex.Transaction, projectId: string, itemIds: string[]): Promise<Map<string, ConflictState>> {
  const { rows } = (await db.raw(
    `SELECT DISTINCT ON (item_id) id, item_id, status, inputs, workflow_id, workflow_started_at FROM conflicts
      WHERE project_id = ? AND item_id = ANY(?::uuid[])
      ORDER BY item_id, (status = 'open') DESC, resolved_at DESC NULLS LAST, created_at DESC, id DESC`,
    [projectId, itemIds],
  )) as { rows: ConflictState[] };
  return new Map(rows.map((r) => [r.item_id, r]));
}

/** The item's current inputs the latest resolution did not see (all of them when there is none). */
function unseenInputs(prior: ConflictState | undefined, rows: readonly HumanValue[]): string[] {
  const seen = new Set((prior?.inputs ?? []).map((i) => i.annotation_id));
  return rows.filter((r) => !seen.has(r.id)).map((r) => r.id);
}

/**
 * Of the items whose human values disagree, those a conflict pass would open a conflict for: no
 * open conflict, and no resolution decided on all of their current inputs. Read-only (the
 * conflict command re-checks under its locks); validation's conflict pass uses it to fill its
 * quota with items that need a decision, in item order.
 */
export async function unsettledDisagreements(db: Knex, projectId: string, itemIds: string[]): Promise<string[]> {
  const disagreeing = disagreeingItems(await latestHumanValues(db, projectId, itemIds));
  if (!disagreeing.size) return [];
  const states = await conflictStates(db, projectId, [...disagreeing.keys()]);
  return itemIds.filter((id) => {
    const rows = disagreeing.get(id);
    if (!rows) return false;
    const state = states.get(id);
    if (state?.status === 'open') return false;
    return !state || unseenInputs(state, rows).length > 0;
  });
}

/**
 * THE conflict command, run in the transaction that writes human annotations (or a transaction of
 * its own): for each item whose latest human values disagree, opens one conflict (row + audit) or
 * returns the item's open one. Exactly one open conflict per item however many writers race: each
 * transaction first takes the items' advisory locks (sorted, so no deadlock) and only then reads,
 * so of two concurrent disagreeing writers the second reads the first's committed annotation; the
 * unique partial index remains the last word. The workflow is started after commit
 * (`startConflictWorkflows`); a crash in between is repaired by the workers' sweep.
 *
 * Settled stays settled: an item whose latest resolution (auto_resolved or resolved) was decided
 * on all of its current inputs gets no conflict, however often validation runs. An input the
 * resolution did not see (a new human annotation after it) re-opens the item: a new conflict and
 * a `conflict.reopened` audit entry naming the earlier conflict and the new annotations.
 * Many items in one call cost a fixed number of statements (locks, read, settled check, insert,
 * audit, existing): validation opens its conflicts in sets.
 */
export async function openConflicts(
  trx: Knex.Transaction,
  req: {
    tenantId: string;
    projectId: string;
    itemIds: string[];
    detectedBy?: string;
    /** Computes each new conflict's automatic decision from its inputs (validation: one model fit per run). */
    decide?: (itemId: string, rows: HumanValue[]) => ConflictSuggestion;
  },
): Promise<OpenedConflict[]> {
  if (!req.itemIds.length) return [];
  const project = await trx('projects').where({ id: req.projectId, tenant_id: req.tenantId }).first('routing');
  if (!project || conflictSettings(project.routing).annotatorsPerItem < 2) return [];
  // One statement; unnest yields the sorted keys in array order, so the locks are taken in that order.
  await trx.raw('SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM unnest(?::text[]) AS k', [conflictLockKeys(req.itemIds)]);
  const disagreeing = disagreeingItems(await latestHumanValues(trx, req.projectId, [...new Set(req.itemIds)]));
  if (!disagreeing.size) return [];

  const states = await conflictStates(trx, req.projectId, [...disagreeing.keys()]);
  const alreadyOpen = [...disagreeing.keys()].flatMap((itemId) => {
    const s = states.get(itemId);
    return s?.status === 'open' ? [s] : [];
  });
  const candidates = [...disagreeing].flatMap(([itemId, rows]) => {
    const prior = states.get(itemId);
    if (prior?.status === 'open') return []; // one open conflict per item: returned as it is
    const unseen = unseenInputs(prior, rows);
    if (prior && unseen.length === 0) return []; // settled: decided on exactly these inputs
    const id = crypto.randomUUID();
    const reopens = prior ? { previous_conflict_id: prior.id, previous_status: prior.status, new_annotation_ids: unseen } : null;
    return [{ id, itemId, workflowId: workflowIds.conflict(req.tenantId, id), rows, reopens, suggestion: req.decide?.(itemId, rows) }];
  });
  const base = { tenantId: req.tenantId, projectId: req.projectId };
  const open = alreadyOpen.map((e) => ({ ...base, itemId: e.item_id, conflictId: e.id, workflowId: e.workflow_id, created: false, workflowStarted: e.workflow_started_at !== null }));
  if (!candidates.length) return open;
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
    const entry = (c: (typeof created)[number], action: string, details: unknown) => ({
      tenant_id: req.tenantId,
      project_id: req.projectId,
      actor: 'system',
      action,
      entity_type: 'conflict',
      entity_id: c.id,
      details: JSON.stringify(details),
    });
    await trx('audit_log').insert([
      ...created.map((c) => entry(c, 'conflict.detected', { item_id: c.itemId, annotators: c.rows.map((r) => r.annotator_id) })),
      ...created.filter((c) => c.reopens).map((c) => entry(c, 'conflict.reopened', { item_id: c.itemId, ...c.reopens })),
    ]);
  }
  // Under the locks no other writer can have opened one meanwhile; the unique index is the last word all the same.
  const waiting = candidates.filter((c) => !createdIds.has(c.id));
  const existing: (Pick<ConflictRow, 'id' | 'item_id' | 'workflow_started_at'> & { workflow_id: string })[] = !waiting.length
    ? []
    : await trx('conflicts')
        .where({ status: 'open' })
        .whereIn('item_id', waiting.map((c) => c.itemId))
        .select('id', 'item_id', 'workflow_id', 'workflow_started_at');
  const suggestionOf = new Map(candidates.map((c) => [c.itemId, c.suggestion]));
  const withSuggestion = (itemId: string) => (suggestionOf.get(itemId) ? { suggestion: suggestionOf.get(itemId) } : {});
  return [
    ...created.map((c) => ({ ...base, itemId: c.itemId, conflictId: c.id, workflowId: c.workflowId, created: true, workflowStarted: false, ...withSuggestion(c.itemId) })),
    ...existing.map((e) => ({ ...base, itemId: e.item_id, conflictId: e.id, workflowId: e.workflow_id, created: false, workflowStarted: e.workflow_started_at !== null })),
    ...open,
  ];
}

/** Items per set when validation opens conflicts: one transaction, a fixed number of statements. */
export const CONFLICT_SET_SIZE = 250;

/** Conflict workflows started side by side (each start is one round trip to the Temporal server). */
const START_CONCURRENCY = 16;

/**
 * Starts the conflictResolution workflow of each conflict not yet known to be started, and records
 * the starts (one statement); returns how many it started. Idempotent: the workflow id rejects
 * duplicates (an already started run is a success), so the creator, an activity retry and the
 * sweep may all try. Throws the first start that failed otherwise, after trying the others and
 * recording the ones that succeeded.
 */
export async function startConflictWorkflows(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  conflicts: Pick<OpenedConflict, 'tenantId' | 'projectId' | 'itemId' | 'conflictId' | 'workflowStarted' | 'suggestion'>[],
): Promise<number> {
  const pending = conflicts.filter((c) => !c.workflowStarted);
  if (!pending.length) return 0;
  const rows: { id: string; label_schema: LabelSchema; routing: Record<string, unknown> | null }[] = await db('projects')
    .whereIn('id', [...new Set(pending.map((c) => c.projectId))])
    .select('id', 'label_schema', 'routing');
  const projects = new Map(rows.map((p) => [p.id, p]));
  const started: string[] = [];
  let firstError: unknown;
  let next = 0;
  const startNext = async (): Promise<void> => {
    for (let c = pending[next++]; c; c = pending[next++]) {
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
          ...(c.suggestion ? { suggestion: c.suggestion } : {}),
        });
        started.push(c.conflictId);
      } catch (err) {
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(START_CONCURRENCY, pending.length) }, startNext));
  if (started.length) await db('conflicts').whereIn('id', started).whereNull('workflow_started_at').update({ workflow_started_at: db.fn.now() });
  if (firstError !== undefined) throw firstError;
  return started.length;
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
      priority: workflowPriority('conflict', input.tenantId),
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
