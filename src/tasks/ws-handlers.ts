import { z } from 'zod';
import { fromZodError } from '../api/errors';
import { AnnotationValueSchema } from '../api/pre-annotation/schema';
import { IdempotencyKey } from '../api/tasks/schema';
import type { Principal } from '../auth/jwt';
import { submitReviewDecision, type DecisionDeps, type ReviewDecisionResult } from './decisions';

/** The WebSocket `review_decision` body (API.md): `{task_id, decision, value?}`, plus optional `item_ids`, `lead_time_ms`, `idempotency_key`. */
export const ReviewDecisionMessage = z.object({
  task_id: z.uuid(),
  decision: z.enum(['approve', 'reject', 'modify']),
  value: AnnotationValueSchema.nullish(),
  item_ids: z.array(z.uuid()).min(1).max(500).optional(),
  lead_time_ms: z.number().int().min(0).optional(),
  idempotency_key: IdempotencyKey.optional(),
});

/**
 * A ready WebSocket handler for `review_decision` (`hub.setHandler('review_decision', reviewDecisionMessage)`):
 * validates the body like the REST route (422 as ApiError) and calls submitReviewDecision, so a
 * decision over the socket and over REST meet the same workflow update and the same rules.
 */
export async function reviewDecisionMessage(
  ctx: { principal: Principal; deps: DecisionDeps },
  body: Record<string, unknown>,
): Promise<ReviewDecisionResult> {
  const parsed = ReviewDecisionMessage.safeParse(body);
  if (!parsed.success) throw fromZodError(parsed.error);
  return submitReviewDecision(ctx.deps, ctx.principal, parsed.data);
}
