import type { Knex } from 'knex';
import { BUILTIN_LOCAL_ENGINE_ID } from '../src/llm/builtin-engines';

/**
 * The foundation schema. Every row carries `tenant_id`; every lookup the API makes has an index.
 * Idempotency lives here too: AI annotations are unique per (job, item), events per dedupe key.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.text('id').primary();
    t.text('name');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('engines', (t) => {
    t.uuid('id').primary();
    // NULL tenant: a built-in engine every tenant may use but none may change.
    t.text('tenant_id').references('tenants.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.text('provider').notNullable();
    t.text('model').notNullable();
    t.text('base_url');
    t.text('api_key_env');
    t.jsonb('params').notNullable().defaultTo('{}');
    t.decimal('price_input_per_1k', 20, 10).notNullable().defaultTo(0);
    t.decimal('price_output_per_1k', 20, 10).notNullable().defaultTo(0);
    t.jsonb('rate_limit');
    t.jsonb('fallback_engine_ids').notNullable().defaultTo('[]');
    t.boolean('enabled').notNullable().defaultTo(true);
    t.timestamps(true, true);
    t.index(['tenant_id', 'name']);
  });
  // The built-in offline engine: the default route when nothing else is configured.
  await knex('engines').insert({
    id: BUILTIN_LOCAL_ENGINE_ID,
    tenant_id: null,
    name: 'local',
    provider: 'local',
    model: 'naive-bayes-v1',
  });

  await knex.schema.createTable('projects', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.jsonb('label_schema').notNullable();
    t.text('guidelines');
    t.jsonb('routing').notNullable().defaultTo('{}');
    t.text('created_by').notNullable();
    t.timestamps(true, true);
    t.index(['tenant_id', 'created_at']);
  });

  await knex.schema.createTable('project_members', (t) => {
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.text('user_id').notNullable();
    t.text('role').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['project_id', 'user_id']);
    t.index(['tenant_id', 'user_id']);
  });

  await knex.schema.createTable('items', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    // Insertion order: stable paging and job cursors.
    t.bigIncrements('seq', { primaryKey: false });
    t.text('external_id');
    t.jsonb('data').notNullable();
    t.jsonb('gold_label');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['project_id', 'seq']);
  });
  await knex.raw(
    'CREATE UNIQUE INDEX items_project_external_id_unique ON items (project_id, external_id) WHERE external_id IS NOT NULL',
  );

  await knex.schema.createTable('jobs', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.text('type').notNullable();
    t.text('status').notNullable();
    t.text('workflow_id').notNullable().unique();
    t.text('run_id');
    t.jsonb('params').notNullable().defaultTo('{}');
    t.jsonb('progress').notNullable().defaultTo('{}');
    t.jsonb('result');
    t.text('error');
    t.text('created_by').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('started_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('completed_at', { useTz: true });
    t.index(['tenant_id', 'project_id', 'type', 'status', 'created_at']);
    t.index(['tenant_id', 'created_at']);
  });

  // The items a job works on, snapshotted when it starts: the workflow pages by `seq`.
  await knex.schema.createTable('job_items', (t) => {
    t.uuid('job_id').notNullable().references('jobs.id').onDelete('CASCADE');
    t.integer('seq').notNullable();
    t.uuid('item_id').notNullable().references('items.id').onDelete('CASCADE');
    t.primary(['job_id', 'seq']);
  });

  await knex.schema.createTable('annotations', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.uuid('item_id').notNullable().references('items.id').onDelete('CASCADE');
    t.uuid('job_id').references('jobs.id').onDelete('SET NULL');
    t.text('source').notNullable(); // 'ai' | 'human'
    t.text('annotator_id').notNullable(); // user id, or engine id for AI
    t.uuid('engine_id').references('engines.id').onDelete('SET NULL');
    t.jsonb('value');
    t.double('confidence');
    t.text('status').notNullable();
    t.text('error');
    t.uuid('task_id');
    t.integer('lead_time_ms');
    t.timestamps(true, true);
    t.index(['project_id', 'item_id']);
    t.index(['tenant_id', 'project_id', 'source', 'status']);
  });
  // Exactly once per job and item, however often a batch is retried.
  await knex.raw('CREATE UNIQUE INDEX annotations_job_item_unique ON annotations (job_id, item_id) WHERE job_id IS NOT NULL');

  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('id');
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable();
    t.text('type').notNullable();
    t.jsonb('payload').notNullable().defaultTo('{}');
    t.text('dedupe_key').unique();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['project_id', 'id']);
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id');
    t.text('actor').notNullable();
    t.text('action').notNullable();
    t.text('entity_type').notNullable();
    t.text('entity_id').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'project_id', 'created_at']);
    t.index(['entity_type', 'entity_id']);
  });

  await knex.schema.createTable('llm_usage', (t) => {
    t.bigIncrements('id');
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id');
    t.uuid('job_id');
    t.uuid('engine_id');
    t.text('model').notNullable();
    t.integer('prompt_tokens').notNullable().defaultTo(0);
    t.integer('completion_tokens').notNullable().defaultTo(0);
    t.integer('cached_tokens').notNullable().defaultTo(0);
    t.decimal('cost_usd', 20, 10).notNullable().defaultTo(0);
    t.integer('latency_ms').notNullable().defaultTo(0);
    t.text('outcome').notNullable(); // 'ok' | 'error' | 'invalid_output' | 'timeout' | 'rate_limited'
    t.text('error');
    t.boolean('cached').notNullable().defaultTo(false);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['tenant_id', 'project_id', 'created_at']);
    t.index(['job_id']);
    t.index(['engine_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['llm_usage', 'audit_log', 'events', 'annotations', 'job_items', 'jobs', 'items', 'project_members', 'projects', 'engines', 'tenants']) {
    await knex.schema.dropTableIfExists(table);
  }
}
