import type { Knex } from 'knex';

/**
 * Live suggestions and the learning loop.
 *
 * `suggestions`: one row per answer of POST /annotation/suggestion, with the feedback given on it
 * (at most one: `feedback_action` is set once). Acceptance statistics per engine and label are an
 * aggregate over these rows.
 *
 * `few_shot_pool`: the project's accepted and corrected examples, one per normalized text
 * (`text_hash` = sha256 of the lower-cased, whitespace-collapsed text), newest kept, bounded by
 * the API; the project context adds them to every later prompt of that project.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('suggestions', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.uuid('item_id').references('items.id').onDelete('SET NULL');
    t.text('text').notNullable();
    t.uuid('engine_id');
    t.jsonb('value').notNullable();
    t.double('confidence').notNullable();
    t.boolean('cached').notNullable().defaultTo(false);
    t.integer('latency_ms').notNullable().defaultTo(0);
    t.jsonb('failed_attempts').notNullable().defaultTo('[]');
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    // Feedback (one per suggestion).
    t.text('feedback_action'); // 'accept' | 'reject' | 'modify'
    t.jsonb('feedback_value'); // the corrected value for 'modify'
    t.text('feedback_by');
    t.timestamp('feedback_at', { useTz: true });
    t.index(['tenant_id', 'project_id', 'created_at']);
    t.index(['project_id', 'engine_id', 'feedback_action']);
  });

  await knex.schema.createTable('few_shot_pool', (t) => {
    t.bigIncrements('id');
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.text('text_hash').notNullable();
    t.text('text').notNullable();
    t.jsonb('value').notNullable();
    t.text('source').notNullable(); // 'accepted' | 'corrected'
    t.uuid('suggestion_id');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['project_id', 'text_hash']);
    t.index(['project_id', 'updated_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('few_shot_pool');
  await knex.schema.dropTableIfExists('suggestions');
}
