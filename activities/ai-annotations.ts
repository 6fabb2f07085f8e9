import crypto from 'node:crypto';
import type { Knex } from 'knex';
import { routeByConfidence, type ConfidenceThresholds } from '../src/annotation/routing';
import { insertAiAnnotations, type AiAnnotationRow } from '../src/data/final-labels';
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
