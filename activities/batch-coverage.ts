import crypto from 'node:crypto';
import type { Knex } from 'knex';
import type { JobCounters } from '../src/annotation/job-progress';
import { setSimilarity, trigrams } from '../src/annotation/trigram';
import { BATCH_COVERAGE_JOB_TYPE } from '../src/jobs/job-types';
import { finishJob, recordJobProgress } from '../src/jobs/lifecycle';
import { schedulingRunId } from './run-id';
import type { AnnotationValue } from '../src/llm/types';

export const BATCH_COVERAGE_ANNOTATOR = 'batch-coverage';

export interface BatchCoverageDeps {
  db: Knex;
  /**
   * Where trigram similarity is computed: 'auto' (default) uses pg_trgm's `similarity()` when
   * the extension is installed, else src/annotation/trigram.ts in-process (same definition).
   */
  batchCoverageSimilarity?: 'auto' | 'sql' | 'js';
}

export interface CoverPageInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  sourceItemId: string;
  value: AnnotationValue;
  similarityThreshold: number;
  /** Scan items with afterSeq < seq <= maxSeq (the project as it was when the job started). */
  afterSeq: number;
  maxSeq: number;
  pageSize: number;
  /** Suggestions this page may still write (max_items minus those written so far). */
  limit: number;
}

export interface CoverPageResult {
  /** Items of the page other than the source. */
  scanned: number;
  /** Items at or above the threshold (human-annotated ones included). */
  matched: number;
  /** Suggestions this page holds for the job (written now or by an earlier attempt). */
  suggested: number;
  /** Matches left alone because a person already annotated them. */
  skippedHuman: number;
  lastSeq: number;
  /** Nothing left to scan after this page. */
  exhausted: boolean;
}

export interface BatchCoverageProgressInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  total: number;
  counters: JobCounters;
  matched: number;
  skippedHuman: number;
  status: string;
}

/** Batch coverage: apply a source item's value, as suggestions, to the items most like it. */
export function createBatchCoverageActivities(deps: BatchCoverageDeps) {
  const { db } = deps;
  let pgTrgm: Promise<boolean> | undefined;
  const useSql = (): Promise<boolean> => {
    const mode = deps.batchCoverageSimilarity ?? 'auto';
    if (mode !== 'auto') return Promise.resolve(mode === 'sql');
    pgTrgm ??= db
      .raw("SELECT 1 AS present FROM pg_extension WHERE extname = 'pg_trgm'")
      .then((r: { rows?: unknown[] } | unknown[]) => ((Array.isArray(r) ? r : r.rows) ?? []).length > 0)
      .catch(() => false);
    return pgTrgm;
  };

  return {
    /** Marks the job running; the items to scan are the project's up to its current last seq. */
    async startBatchCoverageJob(input: { tenantId: string; projectId: string; jobId: string; sourceItemId: string }) {
      const runId = schedulingRunId();
      const [job] = await db('jobs')
        .where({ id: input.jobId, tenant_id: input.tenantId })
        .update({ status: 'running', started_at: db.raw('COALESCE(started_at, now())'), ...(runId ? { run_id: runId } : {}), updated_at: db.fn.now() })
        .returning(['started_at']);
      if (!job) throw new Error(`job ${input.jobId} not found`);
      const [{ max_seq, count }] = await db('items')
        .where({ project_id: input.projectId, tenant_id: input.tenantId })
        .select(db.raw('COALESCE(max(seq), 0) AS max_seq'), db.raw('count(*) FILTER (WHERE id <> ?) AS count', [input.sourceItemId]));
      return { total: Number(count), maxSeq: Number(max_seq), startedAt: new Date(job.started_at).toISOString() };
    },

    /**
     * One page of the project in seq order: similarity of each item's text to the source's, and
     * a suggestion (source 'ai', status 'needs_review', confidence = similarity) for each match
     * that is not the source and has no human annotation, up to `limit`. Idempotent: the
     * unique (job_id, item_id) index turns a retried insert into a no-op.
     */
    async coverPage(input: CoverPageInput): Promise<CoverPageResult> {
      const source = await db('items')
        .where({ id: input.sourceItemId, project_id: input.projectId, tenant_id: input.tenantId })
        .first(db.raw("data->>'text' AS text"));
      const sourceText: string | null = source?.text ?? null;
      const sql = await useSql();
      const page: { id: string; seq: string; text: string | null; has_human: boolean; sim?: number | null }[] = await db('items as i')
        .where({ 'i.project_id': input.projectId, 'i.tenant_id': input.tenantId })
        .andWhere('i.seq', '>', input.afterSeq)
        .andWhere('i.seq', '<=', input.maxSeq)
        .orderBy('i.seq')
        .limit(input.pageSize)
        .select(
          'i.id',
          'i.seq',
          db.raw("i.data->>'text' AS text"),
          db.raw("EXISTS (SELECT 1 FROM annotations a WHERE a.item_id = i.id AND a.source = 'human') AS has_human"),
          ...(sql && sourceText !== null ? [db.raw("similarity(i.data->>'text', ?)::float8 AS sim", [sourceText])] : []),
        );

      const sourceTrigrams = sql || sourceText === null ? null : trigrams(sourceText);
      const matches: { id: string; sim: number; human: boolean }[] = [];
      let scanned = 0;
      for (const row of page) {
        if (row.id === input.sourceItemId) continue;
        scanned++;
        if (sourceText === null || typeof row.text !== 'string') continue;
        const sim = sql ? Number(row.sim ?? 0) : setSimilarity(sourceTrigrams!, trigrams(row.text));
        if (sim >= input.similarityThreshold) matches.push({ id: row.id, sim, human: row.has_human });
      }
      const eligible = matches.filter((m) => !m.human);
      const chosen = eligible.slice(0, Math.max(0, input.limit));
      if (chosen.length) {
        await db('annotations')
          .insert(
            chosen.map((m) => ({
              id: crypto.randomUUID(),
              tenant_id: input.tenantId,
              project_id: input.projectId,
              item_id: m.id,
              job_id: input.jobId,
              source: 'ai',
              annotator_id: BATCH_COVERAGE_ANNOTATOR,
              engine_id: null,
              value: JSON.stringify(input.value),
              confidence: m.sim,
              status: 'needs_review',
            })),
          )
          .onConflict(db.raw('(job_id, item_id) WHERE job_id IS NOT NULL'))
          .ignore();
      }
      const lastSeq = page.length ? Number(page[page.length - 1].seq) : input.afterSeq;
      return {
        scanned,
        matched: matches.length,
        suggested: chosen.length,
        skippedHuman: matches.length - eligible.length,
        lastSeq,
        exhausted: page.length < input.pageSize || lastSeq >= input.maxSeq,
      };
    },

    /** Keeps the job row and the outbox in step with the workflow (monotonic: never goes back). */
    async recordBatchCoverageProgress(input: BatchCoverageProgressInput): Promise<void> {
      const progress = { total: input.total, ...input.counters, matched: input.matched, skipped_human: input.skippedHuman };
      await recordJobProgress(db, { ...input, jobType: BATCH_COVERAGE_JOB_TYPE, runId: schedulingRunId() }, progress);
    },

    async finishBatchCoverageJob(input: BatchCoverageProgressInput & { status: 'completed' | 'cancelled'; stoppedBy: string }): Promise<void> {
      const progress = { total: input.total, ...input.counters, matched: input.matched, skipped_human: input.skippedHuman };
      const result = { ...progress, suggested: input.counters.needs_review, stopped_by: input.stoppedBy };
      await finishJob(
        db,
        { tenantId: input.tenantId, projectId: input.projectId, jobId: input.jobId, jobType: BATCH_COVERAGE_JOB_TYPE, runId: schedulingRunId() },
        { status: input.status, progress, result, details: result },
      );
    },
  };
}

export type BatchCoverageActivities = ReturnType<typeof createBatchCoverageActivities>;
