import type { Knex } from 'knex';

/**
 * Writes on latency-bound paths in one statement (one round trip) instead of a transaction of
 * several:
 * - `append_event(...)`: takes the events append lock (shared), inserts the event (a duplicate
 *   dedupe_key inserts nothing) and notifies listeners, in the caller's transaction. The lock is
 *   held until that transaction commits, as src/ws/relay.ts requires. The lock key and channel
 *   are EVENTS_APPEND_LOCK and EVENTS_CHANNEL of src/events/outbox.ts; they must not change.
 * - `llm_cache.hits` goes: counting hits made every cache read a write (and concurrent hits of one
 *   answer queue on its row lock). The ledger already records each hit (`llm_usage.cached`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION append_event(p_tenant_id text, p_project_id uuid, p_type text, p_payload jsonb, p_dedupe_key text)
    RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE
      new_id bigint;
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(7200117001);
      INSERT INTO events (tenant_id, project_id, type, payload, dedupe_key)
      VALUES (p_tenant_id, p_project_id, p_type, p_payload, p_dedupe_key)
      ON CONFLICT (dedupe_key) DO NOTHING
      RETURNING id INTO new_id;
      IF new_id IS NOT NULL THEN
        PERFORM pg_notify('annotation_events', new_id::text);
      END IF;
      RETURN new_id;
    END
    $$`);
  await knex.schema.alterTable('llm_cache', (t) => t.dropColumn('hits'));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS append_event(text, uuid, text, jsonb, text)');
  await knex.schema.alterTable('llm_cache', (t) => t.integer('hits').notNullable().defaultTo(0));
}
