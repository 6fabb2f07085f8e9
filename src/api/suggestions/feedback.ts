import type { Knex } from 'knex';
import { fn } from 'objection';
import { canAccessProject, type Principal } from '../../auth/jwt';
import { addToPool, removeFromPool } from '../../llm/few-shot-pool';
import { Project, Suggestion } from '../../db/models';
import type { AnnotationValue } from '../../llm/types';
import { conflict, notFound, validationFailed, zodIssues } from '../errors';
import { goldLabelSchema } from '../items/schema';
import { presentFeedback } from './presenter';
import type { FeedbackInput } from './schema';

/**
 * Records the one feedback a suggestion may get and feeds the learning loop: accepted and
 * corrected texts join the project's few-shot pool; a rejected value leaves it. Shared by
 * POST /annotation/feedback and the WebSocket `suggestion_feedback` message.
 * Throws 404 (unknown or foreign suggestion), 422 (corrected_value missing or off-schema), 409 (already given).
 */
export async function recordFeedback(db: Knex, principal: Principal, input: FeedbackInput) {
  const suggestion = await Suggestion.query(db).findOne({ id: input.suggestion_id, tenant_id: principal.tenantId });
  if (!suggestion || !canAccessProject(principal, suggestion.project_id)) throw notFound('suggestion', input.suggestion_id);
  const project = await Project.query(db).findOne({ id: suggestion.project_id, tenant_id: principal.tenantId }).select('label_schema');
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
    const [row] = await Suggestion.query(trx)
      .where({ id: suggestion.id })
      .whereNull('feedback_action')
      .patch({ feedback_action: input.action, feedback_value: corrected, feedback_by: principal.userId, feedback_at: fn.now() })
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
    return presentFeedback(row, input.action, corrected, fewShot, principal.userId);
  });
}
