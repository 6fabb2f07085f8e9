import type { Knex } from 'knex';

/**
 * Write-ahead ledger: a provider call's `llm_usage` row is inserted BEFORE the call (state
 * `in_flight`) and settled after it, so a crash between paying and recording leaves a row.
 *
 * - `state`: `in_flight` (written before the call), `settled` (real usage and cost), `unknown`
 *   (left in flight by a dead process, closed by the sweeper after `deadline_at`).
 * - `cost_upper_usd`: the call's upper-bound cost (prompt estimate + max answer tokens at the
 *   engine's prices). While a row is not `settled`, `cost_usd` = `cost_upper_usd`, and
 *   `jobs.cost_usd` counts it so: budgets see calls in flight and calls of unknown outcome.
 *   Settling moves `jobs.cost_usd` by (real − upper bound) in the same statement.
 * - `deadline_at`: after it, nobody will settle the row (call timeout + margin) and the sweeper may.
 * - `settled_at`: when the row left `in_flight`.
 * - `call_key`: the caller's key of the call; a retried open whose first attempt did commit
 *   (its answer lost with the connection) finds that row instead of opening a second one.
 * Rows written before this migration are settled calls.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('llm_usage', (t) => {
    t.text('state').notNullable().defaultTo('settled');
    t.decimal('cost_upper_usd', 20, 10);
    t.timestamp('deadline_at', { useTz: true });
    t.timestamp('settled_at', { useTz: true });
    t.uuid('call_key');
  });
  await knex.raw(`ALTER TABLE llm_usage ADD CONSTRAINT llm_usage_state_check CHECK (state IN ('in_flight', 'settled', 'unknown'))`);
  // Only rows in flight are indexed: the sweeper's scan stays as small as the calls in flight.
  await knex.raw(`CREATE INDEX llm_usage_in_flight_deadline ON llm_usage (deadline_at) WHERE state = 'in_flight'`);
  await knex.raw(`CREATE UNIQUE INDEX llm_usage_in_flight_call_key ON llm_usage (call_key) WHERE state = 'in_flight'`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS llm_usage_in_flight_call_key');
  await knex.raw('DROP INDEX IF EXISTS llm_usage_in_flight_deadline');
  await knex.raw('ALTER TABLE llm_usage DROP CONSTRAINT IF EXISTS llm_usage_state_check');
  await knex.schema.alterTable('llm_usage', (t) => {
    t.dropColumn('call_key');
    t.dropColumn('settled_at');
    t.dropColumn('deadline_at');
    t.dropColumn('cost_upper_usd');
    t.dropColumn('state');
  });
}
