import type { Client } from '@temporalio/client';
import type { Workflow, WorkflowResultType } from '@temporalio/common';
import type { Knex } from 'knex';
import type { JobStatus } from '../../annotation/job-progress';
import { metrics } from '../../metrics';
import { JOB_TYPE, PROJECT_ID, TENANT_ID } from '../../temporal/search-attributes';
import { StartJobRejected } from './errors';
import { workflowPriority } from '../../temporal/priority';
import { VALIDATION_JOB_TYPE, type JobType } from '../job-types';

/** The row of a job about to start. */
export interface NewJob {
  id: string;
  tenantId: string;
  projectId: string;
  type: JobType;
  workflowId: string;
  createdBy: string;
  params: Record<string, unknown>;
  /** Initial progress of a job without an item snapshot (one with a snapshot starts at `{total, processed: 0}`). */
  progress?: Record<string, unknown>;
}

/**
 * The items a job works through, snapshotted into `job_items` (seq 0..n-1) with its row:
 * explicit ids (all the project's, duplicates dropped, in the given order), the project's items
 * with no AI annotation yet (insertion order), or none (the workflow pages the project itself).
 */
export type JobItems = { kind: 'ids'; itemIds: string[] } | { kind: 'unannotated' } | { kind: 'none' };

/** The workflow that runs a job: its function (the type name comes from it) and typed arguments. */
export interface JobWorkflowStart<W extends Workflow> {
  workflow: W;
  args: Parameters<W>;
  taskQueue: string;
  /** TENANT_FAIRNESS_WEIGHTS (the job's tenant gets its weight on the task queue). */
  fairnessWeights?: Readonly<Record<string, number>>;
}

export interface StartedJob {
  jobId: string;
  workflowId: string;
  runId: string;
  /** The row's status as written: `pending` until the workflow's first activity runs. */
  status: JobStatus;
  /** Items in the snapshot; null for a job that counts its items when it starts. */
  total: number | null;
}

/**
 * Starts a job of any kind: its row, item snapshot and total in ONE statement, then its
 * workflow with the search attributes operators filter by. If Temporal refuses the start, the
 * job is marked failed (never left pending) and the error is rethrown.
 */
export async function startJob<W extends Workflow>(db: Knex, client: Client, job: NewJob, items: JobItems, start: JobWorkflowStart<W>): Promise<StartedJob> {
  const { status, total } = await createJobRow(db, job, items);
  const runId = await startJobWorkflow(db, client, job, start, { newRunOf: 'new job' });
  return { jobId: job.id, workflowId: job.workflowId, runId, status, total };
}

/**
 * Starts the workflow of a job whose row exists, counts it in `anno_jobs_started_total` and
 * records the run id. A `new job` that Temporal refuses is marked failed; a new run of a
 * finished job (`retry`, e.g. retry-failed) is left as it was, and its row says `running` again.
 */
export async function startJobWorkflow<W extends Workflow>(
  db: Knex,
  client: Client,
  job: Pick<NewJob, 'id' | 'tenantId' | 'projectId' | 'type' | 'workflowId'>,
  start: JobWorkflowStart<W>,
  options: { newRunOf: 'new job' | 'retry' },
): Promise<string> {
  let runId: string;
  try {
    const handle = await client.workflow.start<(...args: Parameters<W>) => Promise<WorkflowResultType<W>>>(start.workflow, {
      taskQueue: start.taskQueue,
      workflowId: job.workflowId,
      args: start.args,
      // Batch jobs behind people and validation; tenants share the queue by weight.
      priority: workflowPriority(job.type === VALIDATION_JOB_TYPE ? 'validation' : 'batch', job.tenantId, start.fairnessWeights),
      typedSearchAttributes: [
        { key: TENANT_ID, value: job.tenantId },
        { key: PROJECT_ID, value: job.projectId },
        { key: JOB_TYPE, value: job.type },
      ],
    } as never);
    runId = handle.firstExecutionRunId;
  } catch (err) {
    if (options.newRunOf === 'retry') throw err;
    await db('jobs')
      .where({ id: job.id })
      .update({ status: 'failed', error: `workflow start failed: ${(err as Error).message}`, updated_at: db.fn.now() });
    throw err;
  }
  metrics.jobsStarted.inc({ type: job.type });
  if (options.newRunOf === 'retry') {
    // Open again from now on (the run's first activity also says so, once it has re-queued the items).
    await db('jobs').where({ id: job.id }).update({ status: 'running', run_id: runId, completed_at: null, updated_at: db.fn.now() });
  } else {
    // Unless the run has already recorded itself (or a later run of its chain: see recordJobProgress).
    await db('jobs').where({ id: job.id }).whereNull('run_id').update({ run_id: runId });
  }
  return runId;
}

/**
 * Writes the job row, its item snapshot and the total in one statement (all or nothing). Explicit
 * ids that are not all the project's items write nothing: StartJobRejected on `item_ids`.
 */
export async function createJobRow(db: Knex, job: NewJob, items: JobItems): Promise<{ status: JobStatus; total: number | null }> {
  const jobValues = [job.id, job.tenantId, job.projectId, job.type, job.workflowId, JSON.stringify(job.params), job.createdBy];
  if (items.kind === 'none') {
    await db('jobs').insert({
      id: job.id,
      tenant_id: job.tenantId,
      project_id: job.projectId,
      type: job.type,
      status: 'pending',
      workflow_id: job.workflowId,
      params: JSON.stringify(job.params),
      progress: JSON.stringify(job.progress ?? {}),
      created_by: job.createdBy,
    });
    return { status: 'pending', total: null };
  }
  const unique = items.kind === 'ids' ? [...new Set(items.itemIds)] : [];
  // `picked`: the snapshot's items (id, seq). For explicit ids, the row is written only if all are found.
  const picked =
    items.kind === 'ids'
      ? `wanted AS (SELECT value::uuid AS id, ord FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY AS w(value, ord)),
         picked AS (SELECT w.id, w.ord - 1 AS seq FROM wanted w JOIN items i ON i.id = w.id AND i.project_id = ? AND i.tenant_id = ?)`
      : `picked AS (
           SELECT i.id, (row_number() OVER (ORDER BY i.seq)) - 1 AS seq
             FROM items i
            WHERE i.project_id = ? AND i.tenant_id = ?
              -- By (project_id, item_id), the annotations index: by item alone every item scanned the whole table.
              AND NOT EXISTS (SELECT 1 FROM annotations a WHERE a.project_id = i.project_id AND a.item_id = i.id AND a.source = 'ai' AND a.status <> 'failed'))`;
  const pickedBindings = items.kind === 'ids' ? [JSON.stringify(unique), job.projectId, job.tenantId] : [job.projectId, job.tenantId];
  const complete = items.kind === 'ids' ? `(SELECT count(*) FROM picked) = ${unique.length}` : 'true';
  const missing =
    items.kind === 'ids'
      ? `ARRAY(SELECT w.id::text FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM picked p WHERE p.id = w.id) ORDER BY w.ord LIMIT 3)`
      : `ARRAY[]::text[]`;
  const { rows } = await db.raw(
    `WITH ${picked},
     job AS (
       INSERT INTO jobs (id, tenant_id, project_id, type, status, workflow_id, params, progress, created_by)
       SELECT ?, ?, ?, ?, 'pending', ?, ?::jsonb, jsonb_build_object('total', (SELECT count(*) FROM picked), 'processed', 0), ?
        WHERE ${complete}
       RETURNING id, status),
     snapshot AS (INSERT INTO job_items (job_id, seq, item_id) SELECT job.id, p.seq, p.id FROM job, picked p)
     SELECT (SELECT status FROM job) AS status, (SELECT count(*) FROM picked)::int AS total, ${missing} AS missing`,
    [...pickedBindings, ...jobValues],
  );
  const row = rows[0] as { status: JobStatus | null; total: number; missing: string[] };
  if (!row.status) {
    const absent = unique.length - row.total;
    throw new StartJobRejected('item_ids', `${absent} item(s) not found in this project, e.g. ${row.missing.join(', ')}`);
  }
  return { status: row.status, total: row.total };
}
