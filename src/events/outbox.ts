import type { Knex } from 'knex';

/** The channel API replicas LISTEN on; the payload is the event id. */
export const EVENTS_CHANNEL = 'annotation_events';

export type EventType =
  | 'job.progress'
  | 'job.completed'
  | 'review.assigned'
  | 'review.completed'
  | 'conflict.detected'
  | 'conflict.resolved'
  | 'quality.alert'
  | 'suggestion.ready'
  | 'presence.update';

export interface NewEvent {
  tenantId: string;
  projectId: string;
  type: EventType;
  payload: Record<string, unknown>;
  /** Makes the append idempotent: a retried activity appends nothing twice. */
  dedupeKey?: string;
}

/**
 * Appends an event to the outbox and notifies listeners in the same transaction, so a
 * listener never hears of an event it cannot read. Returns the id, or null for a duplicate.
 */
export async function appendEvent(db: Knex, event: NewEvent): Promise<string | null> {
  return db.transaction(async (trx) => {
    const rows = await trx('events')
      .insert({
        tenant_id: event.tenantId,
        project_id: event.projectId,
        type: event.type,
        payload: JSON.stringify(event.payload),
        dedupe_key: event.dedupeKey ?? null,
      })
      .onConflict('dedupe_key')
      .ignore()
      .returning('id');
    if (!rows.length) return null;
    const id = String(rows[0].id ?? rows[0]);
    await trx.raw('SELECT pg_notify(?, ?)', [EVENTS_CHANNEL, id]);
    return id;
  });
}
