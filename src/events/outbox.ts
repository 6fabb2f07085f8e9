import type { Knex } from 'knex';

/** The channel API replicas LISTEN on; the payload is the event id. */
export const EVENTS_CHANNEL = 'annotation_events';

/**
 * Every append holds this advisory lock (shared) from before its id is drawn until it commits,
 * so the WebSocket relay, by briefly taking it exclusively, can tell an id gap left by a
 * rollback from an insert still in flight (src/ws/relay.ts).
 */
export const EVENTS_APPEND_LOCK = 7_200_117_001;

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
    await trx.raw('SELECT pg_advisory_xact_lock_shared(?)', [EVENTS_APPEND_LOCK]);
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
