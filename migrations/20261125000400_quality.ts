import type { Knex } from 'knex';

/**
 * Quality validation: reports, inconsistencies and alerts written by the `validation` workflow.
 *
 * - One report per validation job (unique job_id): a retried activity rewrites nothing.
 * - Inconsistencies are unique per (job, dedupe_key) (e.g. `near_duplicate:<item a>:<item b>`),
 *   so a retried detector inserts each finding once per job; a later validation job records its
 *   own findings (the API lists those of the latest report by default).
 * - Alerts are unique per (report, metric): a quality.alert is emitted once per report and metric
 *   (the event carries the same dedupe key), however often the activity is retried.
 * - `projects.quality_thresholds` (nullable jsonb) overrides `routing.quality_thresholds` and the defaults.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('projects', (t) => {
    t.jsonb('quality_thresholds');
  });

  await knex.schema.createTable('quality_reports', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.uuid('job_id').notNullable().unique().references('jobs.id').onDelete('CASCADE');
    t.timestamp('computed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.jsonb('scope').notNullable().defaultTo('{}');
    t.jsonb('report').notNullable();
    t.jsonb('details').notNullable().defaultTo('{}');
    t.boolean('passed').notNullable();
    t.index(['tenant_id', 'project_id', 'computed_at']);
  });

  await knex.schema.createTable('inconsistencies', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.uuid('job_id').notNullable().references('jobs.id').onDelete('CASCADE');
    t.uuid('report_id').references('quality_reports.id').onDelete('CASCADE');
    t.text('kind').notNullable(); // 'near_duplicate' | 'annotator_drift' | 'ai_human_disagreement'
    t.jsonb('item_ids').notNullable().defaultTo('[]');
    t.text('annotator_id');
    t.text('label');
    t.jsonb('details').notNullable().defaultTo('{}');
    t.text('severity').notNullable(); // 'high' | 'medium' | 'low'
    t.text('dedupe_key').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['job_id', 'dedupe_key']);
    t.index(['tenant_id', 'project_id', 'report_id', 'kind']);
  });

  await knex.schema.createTable('quality_alerts', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.uuid('report_id').notNullable().references('quality_reports.id').onDelete('CASCADE');
    t.text('metric').notNullable();
    t.text('severity').notNullable(); // 'alert' | 'warning'
    t.double('value').notNullable();
    t.double('threshold').notNullable();
    t.bigInteger('event_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['report_id', 'metric']);
    t.index(['tenant_id', 'project_id', 'created_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('quality_alerts');
  await knex.schema.dropTableIfExists('inconsistencies');
  await knex.schema.dropTableIfExists('quality_reports');
  await knex.schema.alterTable('projects', (t) => {
    t.dropColumn('quality_thresholds');
  });
}
