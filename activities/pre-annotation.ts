import { setMaxListeners } from 'node:events';
import { Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import { countersFromStatuses, type JobCounters, type JobStatus } from '../src/annotation/job-progress';
import { thresholdsFrom } from '../src/annotation/routing';
import { ProviderSlots, type JobSlots } from '../src/annotation/provider-slots';
import { canonicalDecimal } from '../src/annotation/budget';
import { appendEvent } from '../src/events/outbox';
import { PRE_ANNOTATION_JOB_TYPE } from '../src/jobs/job-types';
import { finishJob, recordJobProgress } from '../src/jobs/lifecycle';
import { schedulingRunId } from './run-id';
import { AllEnginesFailedError, type CacheHint, type GenerateRequest, type LlmSwitcher, type ProjectContext } from '../src/llm/types';
import { collectWrites } from '../src/llm/collected-writes';
import { loadProjectContext } from '../src/data/project-context';
import { answeredRow, createAnnotationWriter, failedRow } from './ai-annotations';
import type { AiAnnotationRow } from '../src/data/final-labels';
import { providerBatchesOf, providerBatchSummary } from '../src/data/provider-batches';
import { recordAudit } from '../src/data/audit';

/** A third of the heartbeat timeout, at most a second: enough beats, few crossings into core. */
function heartbeatEveryMs(timeoutMs: number | undefined): number {
  return Math.max(50, Math.min(1000, Math.floor((timeoutMs ?? 3000) / 3)));
}

export interface PreAnnotationDeps {
  db: Knex;
  switcher: LlmSwitcher;
  /** Concurrent LLM calls in this worker process, across every job. */
  llmConcurrency: number;
}

export interface AnnotateBatchInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  engineId: string;
  fallbackEngineIds: string[];
  concurrency: number;
  instructions?: string;
  fromSeq: number;
  toSeq: number;
}

interface PendingItem {
  item_id: string;
  data: { text?: string } & Record<string, unknown>;
}

/** What the switcher is asked for one item of a batch. */
function itemRequest(input: AnnotateBatchInput, project: ProjectContext, item: PendingItem): GenerateRequest {
  return {
    project,
    engineId: input.engineId,
    fallbackEngineIds: input.fallbackEngineIds,
    item: { id: item.item_id, text: itemText(item.data) },
    instructions: input.instructions,
    jobId: input.jobId,
  };
}

export function itemText(data: PendingItem['data']): string {
  return typeof data.text === 'string' ? data.text : JSON.stringify(data);
}

/** Pre-annotation activities, built from their dependencies so tests pass real or fake ones. */
export function createPreAnnotationActivities(deps: PreAnnotationDeps) {
  const { db, switcher } = deps;
  // The worker's provider slots, shared round robin between tenants and their jobs (not first
  // come first served), held for the provider call only (see ProviderSlots).
  const slots = new ProviderSlots(deps.llmConcurrency);

  // Each item's annotation and its call's bookkeeping in one statement, shared by items finishing together.
  const annotations = createAnnotationWriter(db);

  async function annotateOne(
    input: AnnotateBatchInput,
    project: ProjectContext & { routing: Record<string, unknown> },
    item: PendingItem,
    cacheHint: CacheHint | undefined,
    signal: AbortSignal,
    job: JobSlots,
  ) {
    const ref = { tenantId: input.tenantId, projectId: input.projectId, jobId: input.jobId, itemId: item.item_id };
    const writes = collectWrites();
    let row: AiAnnotationRow;
    try {
      // The provider slot is held for the call only: neither the call's write-ahead row before it
      // nor the item's write after it (queued for its group commit) keeps a slot idle.
      const request = { ...itemRequest(input, project, item), cacheHint, writes, signal }; // a cancelled or timed-out activity stops retrying
      const result = await job.run((callSlot) => switcher.generate({ ...request, callSlot }));
      row = answeredRow(ref, result.engineId, result, thresholdsFrom(project.routing));
    } catch (err) {
      // Only a provider verdict makes an item `failed`; anything else (the database, a cancel) retries.
      if (!(err instanceof AllEnginesFailedError)) {
        await writes.store(db).catch(() => undefined); // what the attempts spent stays counted
        throw err;
      }
      // Every attempt: engine, attempt number, outcome and message (see describeAttempts).
      row = failedRow(ref, input.engineId, err.message);
    }
    await annotations.write(row, writes);
  }

  return {
    /** Marks the job running and says how many items it covers. */
    async startPreAnnotationJob({ jobId }: { jobId: string }): Promise<{ total: number; startedAt: string }> {
      const runId = schedulingRunId();
      const [job] = await db('jobs')
        .where({ id: jobId })
        .update({ status: 'running', started_at: db.raw('COALESCE(started_at, now())'), ...(runId ? { run_id: runId } : {}), updated_at: db.fn.now() })
        .returning(['started_at', db.raw("progress->'total' AS total")]);
      if (!job) throw new Error(`job ${jobId} not found`);
      // The start wrote the snapshot's size with it; only a row from before that is counted here.
      const total = job.total ?? Number((await db('job_items').where({ job_id: jobId }).count({ count: '*' }))[0].count);
      return { total: Number(total), startedAt: new Date(job.started_at).toISOString() };
    },

    /**
     * Annotates the job's items with sequence numbers in [fromSeq, toSeq). Items already
     * annotated for this job (an earlier attempt got that far) are skipped, and the unique
     * (job, item) index makes a racing duplicate a no-op, so each item is written once.
     * Returns the batch's counters as the database has them, and the job's spend after it.
     */
    async annotateBatch(input: AnnotateBatchInput): Promise<JobCounters & { spentUsd: string }> {
      const ctx = Context.current();
      const project = await loadProjectContext(db, input.tenantId, input.projectId);
      const pending: PendingItem[] = await db('job_items as ji')
        .join('items as i', 'i.id', 'ji.item_id')
        .where('ji.job_id', input.jobId)
        .andWhere('ji.seq', '>=', input.fromSeq)
        .andWhere('ji.seq', '<', input.toSeq)
        .whereNotExists(db('annotations as a').whereRaw('a.job_id = ji.job_id AND a.item_id = ji.item_id'))
        .orderBy('ji.seq')
        .select('ji.item_id', 'i.data');

      // Every item in flight listens to the activity's cancellation (deadline, backoff, rate limiter).
      setMaxListeners(0, ctx.cancellationSignal);
      const job = slots.forJob({ tenantId: input.tenantId, jobId: input.jobId }, input.concurrency);
      let done = 0;
      // Heartbeat on a timer, not per item: a slow LLM call (longer than the heartbeat timeout)
      // must not make a live batch look dead, and each heartbeat crosses into the SDK's core.
      const beat = () => ctx.heartbeat({ done, fromSeq: input.fromSeq });
      beat();
      const heartbeats = setInterval(beat, heartbeatEveryMs(ctx.info.heartbeatTimeoutMs));
      try {
        // The batch's cache entries in one read, not one per item.
        const hints = (await switcher.lookUpCache?.(pending.map((item) => itemRequest(input, project, item)))) ?? [];
        // Every item finishes (its bookkeeping stored) before the activity ends, even when one
        // fails or the activity is cancelled: no write of this attempt outlives it.
        const outcomes = await Promise.allSettled(
          pending.map(async (item, i) => {
            await annotateOne(input, project, item, hints[i], ctx.cancellationSignal, job);
            done++;
          }),
        );
        const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        if (failed) throw failed.reason;
      } finally {
        clearInterval(heartbeats);
        job.done();
      }
      const [counters, spentUsd] = await Promise.all([batchCounters(db, input), jobSpend(db, input.tenantId, input.jobId)]);
      return { ...counters, spentUsd };
    },

    /**
     * Opens retry round `round` of a finished job: its failed items move to the end of its
     * sequence ([seqFrom, seqEnd)) and their failed annotations are cleared, so the run's
     * batches annotate exactly them. Idempotent: a retried call finds the round open and only
     * reads. Counters are recounted from the job's annotations, so they are exact.
     */
    async prepareRetryFailed(input: { tenantId: string; jobId: string; round: number }): Promise<{
      cursor: number;
      seqEnd: number;
      total: number;
      counters: JobCounters;
      startedAt: string;
    }> {
      return db.transaction(async (trx) => {
        const job = await trx('jobs').where({ id: input.jobId, tenant_id: input.tenantId }).forUpdate().first('params', 'started_at');
        if (!job) throw new Error(`job ${input.jobId} not found`);
        const counts = async () => {
          const rows: { status: string; n: string }[] = await trx('annotations').where({ job_id: input.jobId }).groupBy('status').select('status').count({ n: '*' });
          return countersFromStatuses(Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])));
        };
        const seqEndOf = async () => {
          const [{ end }] = (await trx('job_items').where({ job_id: input.jobId }).max({ end: 'seq' })) as { end: number | null }[];
          return (end ?? -1) + 1;
        };
        const [{ count }] = await trx('job_items').where({ job_id: input.jobId }).count({ count: '*' });
        const total = Number(count);
        if (Number(job.params?.retry_round ?? 0) < input.round) {
          const seqFrom = await seqEndOf();
          await trx.raw(
            `UPDATE job_items ji SET seq = ? + moved.rank - 1
               FROM (SELECT ji2.seq, row_number() OVER (ORDER BY ji2.seq) AS rank
                       FROM job_items ji2
                       JOIN annotations a ON a.job_id = ji2.job_id AND a.item_id = ji2.item_id AND a.status = 'failed'
                      WHERE ji2.job_id = ?) moved
              WHERE ji.job_id = ? AND ji.seq = moved.seq`,
            [seqFrom, input.jobId, input.jobId],
          );
          await trx('annotations').where({ job_id: input.jobId, status: 'failed' }).delete();
          await trx('jobs')
            .where({ id: input.jobId })
            .update({
              status: 'running',
              params: trx.raw("params || jsonb_build_object('retry_round', ?::int, 'retry_from_seq', ?::int)", [input.round, seqFrom]),
              // Progress restarts from what is still done: the progress writes of this round climb from here.
              progress: JSON.stringify({ total, ...(await counts()) }),
              result: null,
              error: null,
              completed_at: null,
              updated_at: trx.fn.now(),
            });
          job.params = { ...job.params, retry_round: input.round, retry_from_seq: seqFrom };
        }
        const cursor = Number(job.params.retry_from_seq);
        return {
          cursor,
          seqEnd: Math.max(cursor, await seqEndOf()),
          total,
          counters: await counts(),
          startedAt: new Date(job.started_at ?? Date.now()).toISOString(),
        };
      });
    },

    /**
     * Keeps the job row and the outbox in step with the workflow (monotonic: never goes back),
     * and answers the job's spend so far (jobs.cost_usd, equal to its ledger rows' sum).
     */
    async recordPreAnnotationProgress(input: {
      tenantId: string;
      projectId: string;
      jobId: string;
      total: number;
      counters: JobCounters;
      status: JobStatus;
      /** The retry round the run belongs to (its progress starts below the last round's). */
      round?: number;
      /** Batch mode: the row and the event list the job's provider batches too. */
      mode?: 'batch';
    }): Promise<{ spentUsd: string }> {
      const batches = input.mode === 'batch' ? (await providerBatchesOf(db, input.tenantId, input.jobId, 20)).map(providerBatchSummary) : null;
      const progress = { total: input.total, ...input.counters, ...(batches ? { provider_batches: batches } : {}) };
      const eventKey = input.round ? `retry-${input.round}:${progress.processed}` : undefined;
      await recordJobProgress(db, { ...input, jobType: PRE_ANNOTATION_JOB_TYPE, runId: schedulingRunId() }, progress, eventKey);
      return { spentUsd: await jobSpend(db, input.tenantId, input.jobId) };
    },

    /**
     * Records a pause (and why: 'budget' also emits a job.progress event with reason
     * 'budget_exhausted') or the return to running.
     */
    async setPreAnnotationStatus(input: {
      tenantId: string;
      jobId: string;
      status: 'running' | 'paused';
      reason?: 'budget';
      projectId?: string;
      spentUsd?: string;
      maxCostUsd?: string;
    }): Promise<void> {
      const pauseReason = input.status === 'paused' ? (input.reason ?? 'manual') : null;
      await db.transaction(async (trx) => {
        const before = await trx('jobs')
          .where({ id: input.jobId, tenant_id: input.tenantId })
          .whereNotIn('status', ['completed', 'failed', 'cancelled'])
          .forUpdate()
          .first('status', 'project_id', trx.raw("progress->>'pause_reason' AS pause_reason"));
        if (!before) return;
        await trx('jobs')
          .where({ id: input.jobId, tenant_id: input.tenantId })
          .update({
            status: input.status,
            progress: trx.raw("jsonb_set(progress, '{pause_reason}', ?::jsonb)", [JSON.stringify(pauseReason)]),
            updated_at: trx.fn.now(),
          });
        // The workflow's decision, audited once: a retried activity finds the status already set.
        if (before.status === input.status && (before.pause_reason ?? null) === pauseReason) return;
        await recordAudit(trx, {
          tenant_id: input.tenantId,
          project_id: before.project_id,
          actor: 'system',
          action: input.status === 'paused' ? 'job.paused' : 'job.resumed',
          entity_type: 'job',
          entity_id: input.jobId,
          details: {
            job_type: PRE_ANNOTATION_JOB_TYPE,
            ...(pauseReason ? { reason: pauseReason } : {}),
            ...(input.reason === 'budget' ? { spent_usd: input.spentUsd ?? null, max_cost_usd: input.maxCostUsd ?? null } : {}),
          },
        });
      });
      if (input.reason === 'budget' && input.projectId) {
        await appendEvent(db, {
          tenantId: input.tenantId,
          projectId: input.projectId,
          type: 'job.progress',
          payload: {
            job_id: input.jobId,
            job_type: PRE_ANNOTATION_JOB_TYPE,
            status: 'paused',
            reason: 'budget_exhausted',
            spent_usd: input.spentUsd ?? null,
            max_cost_usd: input.maxCostUsd ?? null,
          },
          dedupeKey: `job.budget_exhausted:${input.jobId}:${input.maxCostUsd}`,
        });
      }
    },

    async finishPreAnnotationJob(input: {
      tenantId: string;
      projectId: string;
      jobId: string;
      status: 'completed' | 'cancelled' | 'failed';
      total: number;
      counters: JobCounters;
      error?: string;
    }): Promise<void> {
      const progress = { total: input.total, ...input.counters };
      // Every batch has finished: the spend is final (the sum of the job's ledger rows).
      const spent = await db('jobs').where({ id: input.jobId, tenant_id: input.tenantId }).first('cost_usd');
      const result = { ...progress, spent_usd: canonicalDecimal(spent?.cost_usd) };
      await finishJob(
        db,
        { tenantId: input.tenantId, projectId: input.projectId, jobId: input.jobId, jobType: PRE_ANNOTATION_JOB_TYPE, runId: schedulingRunId() },
        { status: input.status, progress, result, error: input.error ?? null, details: result },
      );
    },
  };
}

export type PreAnnotationActivities = ReturnType<typeof createPreAnnotationActivities>;


/** The job's spend so far (jobs.cost_usd, equal to the sum of its ledger rows). */
export async function jobSpend(db: Knex, tenantId: string, jobId: string): Promise<string> {
  const job = await db('jobs').where({ id: jobId, tenant_id: tenantId }).first('cost_usd');
  return canonicalDecimal(job?.cost_usd);
}

export async function batchCounters(db: Knex, input: Pick<AnnotateBatchInput, "jobId" | "fromSeq" | "toSeq">): Promise<JobCounters> {
  // Driven by the batch's job_items range (primary key), then one index lookup per item: the
  // cost stays that of the batch however many annotations the job already has.
  const rows: { status: string; count: string }[] = await db('job_items as ji')
    .join('annotations as a', function () {
      this.on('a.job_id', 'ji.job_id').andOn('a.item_id', 'ji.item_id');
    })
    .where('ji.job_id', input.jobId)
    .andWhere('ji.seq', '>=', input.fromSeq)
    .andWhere('ji.seq', '<', input.toSeq)
    .groupBy('a.status')
    .select('a.status')
    .count({ count: '*' });
  return countersFromStatuses(Object.fromEntries(rows.map((r) => [r.status, Number(r.count)])));
}
