import type { Knex } from 'knex';

/**
 * Provider batch APIs for pre-annotation (issue 13).
 *
 * `engines.batch`: whether the engine's provider batch API may be used (a `local` engine never);
 * `batch_price_*_per_1k`: its batch prices, NULL meaning half the sync price (src/llm/cost.ts).
 *
 * `provider_batches`: one row per provider batch a job submits, written BEFORE the provider is
 * asked to create it and keyed by (job, chunk start, attempt) with a deterministic `batch_key`,
 * so a retried or restarted submit finds its row (and its provider batch id) instead of creating
 * a second batch for the same chunk.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('engines', (t) => {
    t.boolean('batch').notNullable().defaultTo(true);
    t.decimal('batch_price_input_per_1k', 20, 10);
    t.decimal('batch_price_output_per_1k', 20, 10);
  });
  await knex.raw("UPDATE engines SET batch = false WHERE provider = 'local'");
  await knex.schema.createTable('provider_batches', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('job_id').notNullable().references('id').inTable('jobs').onDelete('CASCADE');
    t.uuid('engine_id').notNullable();
    t.string('provider').notNullable();
    /** The chunk: job_items with seq in [from_seq, to_seq). */
    t.integer('from_seq').notNullable();
    t.integer('to_seq').notNullable();
    /** 0 for the chunk's first batch, n for its n-th retry of the items that came back failed. */
    t.integer('attempt').notNullable();
    /** Deterministic (job, chunk, attempt): the idempotency key and metadata sent to the provider. */
    t.uuid('batch_key').notNullable().unique();
    t.string('provider_batch_id');
    t.string('input_file_id');
    /** submitting → the provider's status (validating, in_progress, finalizing, ended, …) → collected. */
    t.string('status').notNullable();
    t.integer('request_count').notNullable();
    t.jsonb('request_counts').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true });
    t.timestamp('ended_at', { useTz: true });
    t.timestamp('collected_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['job_id', 'from_seq', 'attempt']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('provider_batches');
  await knex.schema.alterTable('engines', (t) => {
    t.dropColumn('batch');
    t.dropColumn('batch_price_input_per_1k');
    t.dropColumn('batch_price_output_per_1k');
  });
}
