import type { Knex } from 'knex';

/**
 * Events are delivered only up to a *settled* id: one below which no transaction still in flight
 * can commit an event (src/ws/relay.ts explains why ids alone cannot tell).
 *
 * - `append_event(...)` now draws its id itself and, on a transaction's first append, also holds
 *   a shared two-key advisory lock whose key *is* that id (high 32 bits, low 32 bits) until the
 *   transaction ends. pg_locks therefore shows, for every appending transaction in flight, the
 *   lowest id it may still commit. The single-key EVENTS_APPEND_LOCK is still taken first, before
 *   the id is drawn, so the instant between drawing and taking the id lock is visible too. A
 *   transaction-local setting remembers the first id, so a transaction appending many events
 *   holds two locks, not one per event. Still one statement for the caller.
 * - `events_settled_bound(after)`: the settled id (NULL while an append is between drawing and
 *   locking its id: ask again) and the first id above `after`, read in that order.
 *
 * Two-key (int4, int4) advisory locks are reserved for this; the app's other advisory locks use
 * single bigint keys, a separate key space in PostgreSQL.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE OR REPLACE FUNCTION append_event(p_tenant_id text, p_project_id uuid, p_type text, p_payload jsonb, p_dedupe_key text)
    RETURNS bigint LANGUAGE plpgsql AS $$
    DECLARE
      drawn bigint;
      new_id bigint;
    BEGIN
      PERFORM pg_advisory_xact_lock_shared(7200117001);
      drawn := nextval('events_id_seq');
      IF coalesce(current_setting('anno.first_event_id', true), '') = '' THEN
        PERFORM pg_advisory_xact_lock_shared((drawn >> 32)::int4, ((drawn << 32) >> 32)::int4);
        PERFORM set_config('anno.first_event_id', drawn::text, true);
      END IF;
      INSERT INTO events (id, tenant_id, project_id, type, payload, dedupe_key)
      VALUES (drawn, p_tenant_id, p_project_id, p_type, p_payload, p_dedupe_key)
      ON CONFLICT (dedupe_key) DO NOTHING
      RETURNING id INTO new_id;
      IF new_id IS NOT NULL THEN
        PERFORM pg_notify('annotation_events', new_id::text);
      END IF;
      RETURN new_id;
    END
    $$`);
  await knex.raw(`
    CREATE FUNCTION events_settled_bound(p_after bigint, OUT settled bigint, OUT next_id bigint)
    LANGUAGE plpgsql VOLATILE AS $$
    DECLARE
      visible bigint;
      drawing boolean;
      lowest bigint;
    BEGIN
      -- 1. Every id up to the highest committed one has been drawn before this read.
      SELECT coalesce(max(id), 0) INTO visible FROM events;
      -- 2. Then: who may still commit one of those ids. Each drew its id holding the append lock
      --    and holds it (and its first id's lock) until its end is visible to new snapshots.
      --    (pg_locks spans the server; advisory locks belong to one database: this one's count.)
      WITH l AS MATERIALIZED (
        SELECT virtualtransaction AS vxid, objsubid, (classid::bigint << 32) | objid::bigint AS key
        FROM pg_locks
        WHERE locktype = 'advisory' AND granted
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND (objsubid = 2 OR (objsubid = 1 AND classid = 1 AND objid = 2905149705))
      ), t AS (
        SELECT bool_or(objsubid = 1) AS appending, min(key) FILTER (WHERE objsubid = 2) AS first_id
        FROM l GROUP BY vxid
      )
      SELECT coalesce(bool_or(appending AND first_id IS NULL), false), min(first_id) INTO drawing, lowest FROM t;
      settled := CASE WHEN drawing THEN NULL ELSE least(visible, lowest - 1) END;
      -- 3. Then (a fresh snapshot): where reading would resume.
      SELECT min(id) INTO next_id FROM events WHERE id > p_after;
    END
    $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP FUNCTION IF EXISTS events_settled_bound(bigint)');
  await knex.raw(`
    CREATE OR REPLACE FUNCTION append_event(p_tenant_id text, p_project_id uuid, p_type text, p_payload jsonb, p_dedupe_key text)
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
}
