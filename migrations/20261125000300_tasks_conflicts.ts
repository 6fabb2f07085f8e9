import type { Knex } from 'knex';

/**
 * Human work: tasks (annotate, review, expert) owned by `reviewAssignment` / `conflictResolution`
 * workflows, and conflicts between human annotations of one item.
 *
 * - A task row is keyed by its id, which the workflow id is built from (`review/<tenant>/<task>`),
 *   so a retried start or activity never makes a second task.
 * - At most one OPEN conflict per item, whatever the concurrency: a unique partial index, and
 *   writers insert with ON CONFLICT DO NOTHING (the loser reads the winner's row).
 * - One human annotation per (task, item): a retried outcome activity writes nothing twice.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('tasks', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.text('kind').notNullable(); // 'annotate' | 'review' | 'expert'
    t.jsonb('item_ids').notNullable().defaultTo('[]');
    t.integer('item_count').notNullable().defaultTo(0);
    t.text('assignee_id');
    t.text('status').notNullable().defaultTo('open'); // 'open' | 'completed' | 'escalated' | 'cancelled'
    t.text('strategy');
    t.timestamp('due_at', { useTz: true });
    t.integer('due_in_seconds');
    /** Assignments made so far (1 = the first one); a reassignment or escalation adds one. */
    t.integer('attempts').notNullable().defaultTo(0);
    t.jsonb('assignees').notNullable().defaultTo('[]');
    t.text('workflow_id').notNullable().unique();
    t.text('source').notNullable().defaultTo('api'); // 'api' | 'pre_annotation' | 'conflict'
    t.text('source_id');
    t.uuid('conflict_id');
    t.jsonb('result');
    t.text('created_by').notNullable();
    t.timestamp('assigned_at', { useTz: true });
    t.timestamp('claimed_at', { useTz: true });
    t.timestamp('escalated_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
    t.timestamps(true, true);
    t.index(['tenant_id', 'project_id', 'status', 'created_at']);
    t.index(['tenant_id', 'assignee_id', 'status']);
    t.index(['project_id', 'kind', 'assigned_at']);
    t.index(['project_id', 'status', 'due_at']);
  });

  await knex.schema.createTable('conflicts', (t) => {
    t.uuid('id').primary();
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.uuid('item_id').notNullable().references('items.id').onDelete('CASCADE');
    t.text('status').notNullable().defaultTo('open'); // 'open' | 'auto_resolved' | 'resolved'
    t.text('method'); // 'majority_vote' | 'dawid_skene' | 'expert'
    t.jsonb('resolved_value');
    t.text('resolved_by');
    t.jsonb('inputs').notNullable().defaultTo('[]');
    t.text('reason');
    t.uuid('task_id');
    t.text('workflow_id');
    t.text('detected_by').notNullable().defaultTo('submission');
    t.timestamp('resolved_at', { useTz: true });
    t.timestamps(true, true);
    t.index(['tenant_id', 'project_id', 'status', 'created_at']);
    t.index(['item_id']);
  });
  await knex.raw("CREATE UNIQUE INDEX conflicts_one_open_per_item ON conflicts (item_id) WHERE status = 'open'");

  await knex.raw(
    "CREATE UNIQUE INDEX annotations_task_item_unique ON annotations (task_id, item_id) WHERE task_id IS NOT NULL AND source = 'human'",
  );
  await knex.raw("CREATE INDEX annotations_human_by_annotator ON annotations (project_id, annotator_id, created_at) WHERE source = 'human'");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS annotations_human_by_annotator');
  await knex.raw('DROP INDEX IF EXISTS annotations_task_item_unique');
  await knex.schema.dropTableIfExists('conflicts');
  await knex.schema.dropTableIfExists('tasks');
}
