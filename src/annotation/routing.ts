/**
 * Routing by confidence: the project's thresholds decide what a person must look at.
 * Items at or above `high` are auto-accepted; everything else needs review, and items
 * below `low` are the ones that become review tasks.
 */
export interface ConfidenceThresholds {
  high_confidence_threshold: number;
  low_confidence_threshold: number;
}

export const DEFAULT_THRESHOLDS: ConfidenceThresholds = {
  high_confidence_threshold: 0.85,
  low_confidence_threshold: 0.5,
};

export type AiAnnotationStatus = 'auto_accepted' | 'needs_review' | 'failed';

export function routeByConfidence(confidence: number, thresholds: ConfidenceThresholds): Exclude<AiAnnotationStatus, 'failed'> {
  return confidence >= thresholds.high_confidence_threshold ? 'auto_accepted' : 'needs_review';
}

/** Below the low threshold an item is not just unsure: it is sent to a reviewer's queue. */
export function needsReviewTask(confidence: number, thresholds: ConfidenceThresholds): boolean {
  return confidence < thresholds.low_confidence_threshold;
}

export function thresholdsFrom(routing: Record<string, unknown> | null | undefined): ConfidenceThresholds {
  const high = Number(routing?.high_confidence_threshold);
  const low = Number(routing?.low_confidence_threshold);
  return {
    high_confidence_threshold: Number.isFinite(high) ? high : DEFAULT_THRESHOLDS.high_confidence_threshold,
    low_confidence_threshold: Number.isFinite(low) ? low : DEFAULT_THRESHOLDS.low_confidence_threshold,
  };
}
