import type { Knex } from 'knex';
import { cteOf, joinCtes, runCtes, type CteParts } from '../db/statement';

/** The channel API replicas LISTEN on; the payload is the event id. */
export const EVENTS_CHANNEL = 'annotation_events';

/**
 * Every append holds this advisory lock (shared) from before its id is drawn until it commits,
 * and its transaction's first id as a two-key advisory lock, so the WebSocket relay can read in
 * pg_locks which ids may still commit (`events_settled_bound()`, src/ws/relay.ts). The SQL
 * functions of migrations/20261202000200 spell this key out; it must not change.
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
 * One statement, one round trip: `append_event` (migrations/20261202000200) takes the append
 * lock, draws the id (locking it on the transaction's first append), inserts and notifies.
 */
export async function appendEvent(db: Knex, event: NewEvent): Promise<string | null> {
  const call = appendEventCall(event);
  return eventIdOf(await db.raw(call.sql, call.bindings));
}

/**
 * Runs `writes` (inserts, updates or deletes: query builders, or CTE parts from
 * src/db/statement.ts) and appends `event` in ONE statement: one round trip, and all or nothing
 * (a failed write appends nothing). Returns the event id, or null for a duplicate. A raw write
 * (a statement knex cannot build) sees the snapshot before every write.
 */
export async function writeWithEvent(
  db: Knex,
  writes: CteParts | Knex.QueryBuilder | Knex.Raw | (Knex.QueryBuilder | Knex.Raw)[],
  event: NewEvent,
): Promise<string | null> {
  const parts = 'ctes' in writes ? writes : joinCtes(...(Array.isArray(writes) ? writes : [writes]).map((w, i) => cteOf(`write_${i}`, w)));
  const call = appendEventCall(event);
  return eventIdOf(await runCtes(db, parts, call.sql, call.bindings));
}

function appendEventCall(event: NewEvent): { sql: string; bindings: Knex.RawBinding[] } {
  return {
    sql: 'SELECT append_event(?, ?, ?, ?::jsonb, ?) AS id',
    bindings: [event.tenantId, event.projectId, event.type, JSON.stringify(event.payload), event.dedupeKey ?? null],
  };
}

function eventIdOf(result: { rows: { id: string | number | bigint | null }[] }): string | null {
  const id = result.rows[0]?.id;
  return id === null || id === undefined ? null : String(id);
}
