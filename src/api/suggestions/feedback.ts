import type { Knex } from 'knex';
import { canAccessProject, type Principal } from '../../auth/jwt';
import { addToPool, removeFromPool } from '../../llm/few-shot-pool';
import type { AnnotationValue } from '../../llm/types';
import { conflict, notFound, validationFailed, zodIssues } from '../errors';
import { goldLabelSchema } from '../items/schema';
import type { FeedbackInput } from './schema';

export interface SuggestionRow {
  id: string;
  tenant_id: string;
  project_id: string;
  item_id: string | null;
  text: string;
  engine_id: string | null;
  value: AnnotationValue;
  confidence: number;
  cached: boolean;
  latency_ms: number;
  failed_attempts: { engine_id: string; reason: string }[];
  created_by: string;
  created_at: Date | string;
  feedback_action: 'accept' | 'reject' | 'modify' | null;
  feedback_value: AnnotationValue | null;
  feedback_by: string | null;
  feedback_at: Date | string | null;
}

/** A suggestion as made, before any feedback. */
export type NewSuggestion = Omit<SuggestionRow, 'feedback_action' | 'feedback_value' | 'feedback_by' | 'feedback_at'>;

/**
 * Records the one feedback a suggestion may get and feeds the learning loop: accepted and
 * corrected texts join the project's few-shot pool; a rejected value leaves it. Shared by
 * POST /annotation/feedback and the WebSocket `suggestion_feedback` message.
 * Throws 404 (unknown or foreign suggestion), 422 (corrected_value missing or off-schema), 409 (already given).
 */
export async function recordFeedback(db: Knex, principal: Principal, input: FeedbackInput) {
  const suggestion: SuggestionRow | undefined = await db('suggestions').where({ id: input.suggestion_id, tenant_id: principal.tenantId }).first();
  if (!suggestion || !canAccessProject(principal, suggestion.project_id)) throw notFound('suggestion', input.suggestion_id);
  const project = await db('projects').where({ id: suggestion.project_id, tenant_id: principal.tenantId }).first('label_schema');
  if (!project) throw notFound('suggestion', input.suggestion_id);

  let corrected: AnnotationValue | null = null;
  if (input.action === 'modify') {
    if (input.corrected_value === undefined || input.corrected_value === null) {
      throw validationFailed([{ field: 'corrected_value', message: 'required when action is modify' }]);
    }
    const parsed = goldLabelSchema(project.label_schema).safeParse(input.corrected_value);
    if (!parsed.success) throw validationFailed(zodIssues(parsed.error, 'corrected_value'));
    corrected = parsed.data as AnnotationValue;
  } else if (input.corrected_value !== undefined && input.corrected_value !== null) {
    throw validationFailed([{ field: 'corrected_value', message: 'only with action modify' }]);
  }

  return db.transaction(async (trx) => {
    const [row]: SuggestionRow[] = await trx('suggestions')
      .where({ id: suggestion.id })
      .whereNull('feedback_action')
      .update({
        feedback_action: input.action,
        feedback_value: corrected === null ? null : JSON.stringify(corrected),
        feedback_by: principal.userId,
        feedback_at: trx.fn.now(),
      })
      .returning('*');
    if (!row) throw conflict('Feedback was already given for this suggestion', [{ field: 'suggestion_id', message: 'one feedback per suggestion' }]);

    let fewShot: 'added' | 'removed' | 'unchanged' = 'unchanged';
    const base = { tenantId: row.tenant_id, projectId: row.project_id, text: row.text, suggestionId: row.id };
    if (input.action === 'accept') {
      if (await addToPool(trx, { ...base, value: row.value, source: 'accepted' })) fewShot = 'added';
    } else if (input.action === 'modify') {
      if (await addToPool(trx, { ...base, value: corrected!, source: 'corrected' })) fewShot = 'added';
    } else if ((await removeFromPool(trx, row.project_id, row.text, row.value)) > 0) {
      fewShot = 'removed';
    }
    return {
      suggestion_id: row.id,
      project_id: row.project_id,
      engine_id: row.engine_id,
      action: input.action,
      suggested_value: row.value,
      corrected_value: corrected,
      final_value: input.action === 'accept' ? row.value : corrected,
      few_shot: fewShot,
      feedback_by: principal.userId,
      feedback_at: new Date(row.feedback_at!).toISOString(),
    };
  });
}
