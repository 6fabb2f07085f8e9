import type { Knex } from 'knex';

/**
 * `conflicts.workflow_started_at`: when the conflict's `conflictResolution` workflow was known to
 * be started. A conflict row commits with its annotation; the start follows the commit and can be
 * cut off by a crash, so workers sweep open conflicts still without a start
 * (src/tasks/conflict-sweep.ts). Closed conflicts had their workflow; open ones from before this
 * migration are swept once (starting is idempotent by workflow id).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('conflicts', (t) => {
    t.timestamp('workflow_started_at', { useTz: true });
  });
  await knex.raw("UPDATE conflicts SET workflow_started_at = updated_at WHERE status <> 'open'");
  await knex.raw("CREATE INDEX conflicts_workflow_unstarted ON conflicts (created_at) WHERE status = 'open' AND workflow_started_at IS NULL");
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP INDEX IF EXISTS conflicts_workflow_unstarted');
  await knex.schema.alterTable('conflicts', (t) => {
    t.dropColumn('workflow_started_at');
  });
}
