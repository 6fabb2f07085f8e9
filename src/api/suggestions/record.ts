import type { Knex } from 'knex';
import { writeWithEvent } from '../../events/outbox';
import { cteOf, joinCtes } from '../../db/statement';
import { collectedCtes, type CollectedWrites } from '../../llm/collected-writes';
import type { SuggestionRow } from '../../db/models';

/** A suggestion as made, before any feedback. */
export type NewSuggestion = Omit<SuggestionRow, 'feedback_action' | 'feedback_value' | 'feedback_by' | 'feedback_at'>;

/**
 * Writes a suggestion, the bookkeeping of the engine calls that made it (ledger rows and the
 * answer's cache entry, collected with collectWrites) and its `suggestion.ready` event in ONE
 * statement: one round trip, one commit, all or nothing. If that statement fails, the ledger rows
 * are still stored on their own — the calls were made and cost what they cost — and the error
 * goes on.
 */
export async function recordSuggestion(db: Knex, row: NewSuggestion, writes: CollectedWrites, eventPayload: Record<string, unknown>): Promise<void> {
  const insert = db('suggestions').insert({
    ...row,
    value: JSON.stringify(row.value),
    failed_attempts: JSON.stringify(row.failed_attempts),
  });
  try {
    await writeWithEvent(db, joinCtes(collectedCtes(db, writes), cteOf('suggestion', insert)), {
      tenantId: row.tenant_id,
      projectId: row.project_id,
      type: 'suggestion.ready',
      payload: eventPayload,
      dedupeKey: `suggestion.ready:${row.id}`,
    });
  } catch (err) {
    await writes.store(db).catch(() => undefined);
    throw err;
  }
}
