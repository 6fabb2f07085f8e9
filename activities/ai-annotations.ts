import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { routeByConfidence, type ConfidenceThresholds } from '../src/annotation/routing';
import { aiAnnotationCtes, insertAiAnnotations, type AiAnnotationRow } from '../src/data/final-labels';
import { groupCommit } from '../src/db/group-commit';
import { joinCtes, runCtes } from '../src/db/statement';
import { collectedCtes, type CollectedWrites } from '../src/llm/collected-writes';
import type { AnnotationValue } from '../src/llm/types';

/**
 * The AI annotation rows of a pre-annotation job, as both modes write them (sync: one per answered
 * item; batch mode: one per collected result), and their writer. One row per (job, item).
 */
export interface JobItem {
  tenantId: string;
  projectId: string;
  jobId: string;
  itemId: string;
}

function base(item: JobItem, engineId: string) {
  return {
    id: crypto.randomUUID(),
    tenant_id: item.tenantId,
    project_id: item.projectId,
    item_id: item.itemId,
    job_id: item.jobId,
    source: 'ai',
    annotator_id: engineId,
    engine_id: engineId,
  };
}

/** An answer: routed to `auto_accepted` or `needs_review` by the project's confidence thresholds. */
export function answeredRow(item: JobItem, engineId: string, answer: { value: AnnotationValue; confidence: number }, thresholds: ConfidenceThresholds): AiAnnotationRow {
  return { ...base(item, engineId), value: JSON.stringify(answer.value), confidence: answer.confidence, status: routeByConfidence(answer.confidence, thresholds) };
}

/** An item every attempt failed for, with the reasons. */
export function failedRow(item: JobItem, engineId: string, error: string): AiAnnotationRow {
  return { ...base(item, engineId), value: null, confidence: null, status: 'failed', error: error.slice(0, 8000) };
}

/**
 * The annotation writer of both modes: a repeat is a no-op; an accepted AI label becomes the
 * item's final label in the same statement where nothing above AI decides it.
 */
export async function insertAnnotation(db: Knex, row: AiAnnotationRow | AiAnnotationRow[]): Promise<void> {
  await insertAiAnnotations(db, Array.isArray(row) ? row : [row]);
}

/** How long an item's bookkeeping is retried on its own when its annotation could not be written. */
const BOOKKEEPING_RETRY_MS = 30_000;

/**
 * The sync mode's writer: each answered item's annotation (and final label) together with its
 * call's bookkeeping — ledger settlements and rows, moving the job's spend, and the answer's
 * cache entry — in ONE statement, and items finishing together share it (group commit). Only
 * the in-flight ledger row stays apart, written before the provider is called.
 */
export function createAnnotationWriter(db: Knex, maxBatch = 200) {
  const group = groupCommit<{ row: AiAnnotationRow; writes: CollectedWrites }>(async (batch) => {
    const bookkeeping = collectedCtes(db, {
      usage: batch.flatMap((b) => b.writes.usage),
      settles: batch.flatMap((b) => b.writes.settles),
      cachePuts: batch.flatMap((b) => b.writes.cachePuts),
    });
    await runCtes(db, joinCtes(bookkeeping, aiAnnotationCtes(batch.map((b) => b.row))));
  }, maxBatch);
  return {
    /**
     * Resolves once the row and its bookkeeping are stored. If the row cannot be (the group retries
     * it alone first), the bookkeeping is stored on its own — what was spent stays counted — and
     * the row's error is thrown for the activity to retry.
     */
    async write(row: AiAnnotationRow, writes: CollectedWrites): Promise<void> {
      try {
        await group.add({ row, writes });
      } catch (err) {
        await writes.store(db, BOOKKEEPING_RETRY_MS).catch(() => undefined); // unstored settlements: the sweeper's
        throw err;
      }
    },
  };
}
