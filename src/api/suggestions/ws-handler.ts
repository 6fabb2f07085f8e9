import type { Knex } from 'knex';
import { hasAnyRole, type Principal } from '../../auth/jwt';
import { forbidden, fromZodError } from '../errors';
import { recordFeedback } from './feedback';
import { FeedbackBody } from './schema';

/** Roles that may give suggestion feedback, over REST and over the socket alike. */
export const FEEDBACK_ROLES = ['annotator', 'reviewer', 'manager'] as const;

/**
 * A ready WebSocket handler for `suggestion_feedback` (`hub.setHandler('suggestion_feedback',
 * suggestionFeedbackMessage)`): the same body, roles and rules as POST /annotation/feedback
 * (404 / 409 / 422 as ApiError), so feedback over the socket feeds the same learning loop.
 */
export async function suggestionFeedbackMessage(ctx: { principal: Principal; deps: { db: Knex } }, body: Record<string, unknown>) {
  if (!hasAnyRole(ctx.principal, [...FEEDBACK_ROLES])) throw forbidden(`Requires one of the roles: admin, ${FEEDBACK_ROLES.join(', ')}`);
  const parsed = FeedbackBody.safeParse(body);
  if (!parsed.success) throw fromZodError(parsed.error);
  return recordFeedback(ctx.deps.db, ctx.principal, parsed.data);
}
