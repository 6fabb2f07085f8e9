import type { Knex } from 'knex';

/**
 * `llm_rate_buckets`: the token buckets of engines with a `rate_limit`, shared by every worker and
 * API process (src/llm/shared-rate-limiter.ts): requests and tokens available at `updated_at`
 * (refilled from the elapsed time on the database's clock), the limits they were computed for,
 * and the pause a 429's Retry-After set.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('llm_rate_buckets', (t) => {
    t.text('engine_id').primary();
    t.integer('rpm').notNullable().defaultTo(0);
    t.integer('tpm').notNullable().defaultTo(0);
    t.double('requests').notNullable().defaultTo(0);
    t.double('tokens').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.raw('clock_timestamp()'));
    t.timestamp('paused_until', { useTz: true }).notNullable().defaultTo(knex.raw("'-infinity'::timestamptz"));
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('llm_rate_buckets');
}
