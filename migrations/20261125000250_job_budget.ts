import type { Knex } from 'knex';

/**
 * Job budgets and batch coverage.
 *
 * - `jobs.cost_usd`: what a job has spent on LLM calls, exact. The ledger (src/llm/ledger.ts)
 *   adds each `llm_usage` row's cost to it in the same transaction as the row insert, so
 *   `SELECT sum(cost_usd) FROM llm_usage WHERE job_id = X` always equals `jobs.cost_usd`.
 * - `pg_trgm` for batch coverage's trigram similarity, when the server has the extension and
 *   the role may create it. Where it cannot be created (PGlite without the contrib, a managed
 *   server that refuses) the statement is caught inside a subtransaction and batch coverage
 *   falls back to src/annotation/trigram.ts, which computes the same `similarity()`.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => {
    t.decimal('cost_usd', 20, 10).notNullable().defaultTo(0);
  });
  await knex.raw(`
    DO $$
    BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'pg_trgm unavailable (%); batch coverage computes trigram similarity in-process', SQLERRM;
    END
    $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('jobs', (t) => {
    t.dropColumn('cost_usd');
  });
  // pg_trgm stays: other objects may depend on it.
}
