import type { SuggestionRow } from '../../db/models';
import type { AnnotationValue } from '../../llm/types';
import type { NewSuggestion } from './record';

/** A suggestion as POST /annotation/suggestion answers it (and its `suggestion.ready` event carries). */
export function presentSuggestion(row: NewSuggestion, model?: string) {
  return {
    suggestion_id: row.id,
    project_id: row.project_id,
    item_id: row.item_id,
    value: row.value,
    confidence: row.confidence,
    engine_id: row.engine_id!,
    ...(model !== undefined ? { model } : {}),
    latency_ms: row.latency_ms,
    cached: row.cached,
    failed_attempts: row.failed_attempts ?? [],
    created_at: new Date(row.created_at).toISOString(),
  };
}

/** A suggestion in the history: as made, with its text, author and the feedback it got. */
export function presentHistoryEntry(r: SuggestionRow) {
  return {
    ...presentSuggestion(r),
    text: r.text,
    created_by: r.created_by,
    feedback: r.feedback_action
      ? { action: r.feedback_action, corrected_value: r.feedback_value ?? null, by: r.feedback_by!, at: new Date(r.feedback_at!).toISOString() }
      : null,
  };
}

/** The answer to a feedback (REST and the WebSocket `suggestion_feedback` message). */
export function presentFeedback(
  row: SuggestionRow,
  action: 'accept' | 'reject' | 'modify',
  corrected: AnnotationValue | null,
  fewShot: 'added' | 'removed' | 'unchanged',
  feedbackBy: string,
) {
  return {
    suggestion_id: row.id,
    project_id: row.project_id,
    engine_id: row.engine_id,
    action,
    suggested_value: row.value,
    corrected_value: corrected,
    final_value: action === 'accept' ? row.value : corrected,
    few_shot: fewShot,
    feedback_by: feedbackBy,
    feedback_at: new Date(row.feedback_at!).toISOString(),
  };
}
