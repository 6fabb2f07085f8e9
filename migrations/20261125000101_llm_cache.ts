import type { Knex } from 'knex';

/**
 * The LLM response cache: a successful answer keyed by sha256 of (tenant, engine, model,
 * prompt, params), kept until `expires_at`. Read before the rate limiter; a hit costs nothing.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('llm_cache', (t) => {
    t.text('key').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('engine_id').notNullable();
    t.text('model').notNullable();
    t.text('response_text').notNullable();
    t.integer('prompt_tokens').notNullable().defaultTo(0);
    t.integer('completion_tokens').notNullable().defaultTo(0);
    t.integer('hits').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.index(['expires_at']);
    t.index(['engine_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('llm_cache');
}
