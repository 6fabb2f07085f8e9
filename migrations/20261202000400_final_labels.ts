import type { Knex } from 'knex';

/**
 * `final_labels`: the one final label of each item, with its provenance (issue 12). Written in
 * the transaction of every decision that can change it (src/data/final-labels.ts):
 * expert resolution > gold > automatic resolution > consensus of humans > AI (auto-accepted).
 * `status` is `labelled`, or `unresolved` (a human tie no resolution settled: `label` null).
 * An item with no decision at all has no row. Rows of existing data are written by
 * `backfillFinalLabels` right after this migration runs (`migrateLatest`).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('final_labels', (t) => {
    t.uuid('item_id').primary().references('items.id').onDelete('CASCADE');
    t.text('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.uuid('project_id').notNullable().references('projects.id').onDelete('CASCADE');
    t.text('status').notNullable();
    /** The category key (`{label}` → the label, `{labels}` → sorted labels joined by "|"); null when unresolved. */
    t.text('label');
    t.jsonb('value');
    /** expert | gold | auto | consensus | ai */
    t.text('source').notNullable();
    /** expert | gold | dawid_skene | majority_vote | unanimous | majority | single | tie | ai */
    t.text('method').notNullable();
    /** Who or what decided: a user id, `system`, `gold`, `consensus`, or the engine id. */
    t.text('decided_by').notNullable();
    t.timestamp('decided_at', { useTz: true }).notNullable();
    t.uuid('conflict_id');
    t.uuid('annotation_id');
    t.text('engine_id');
    t.double('confidence');
    /** The annotations the decision was taken on: [{annotation_id, annotator_id | engine_id, label}]. */
    t.jsonb('inputs').notNullable().defaultTo('[]');
    /** Votes, margin, tied labels: what a reader needs to see why. */
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('CREATE INDEX final_labels_project ON final_labels (project_id, source)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('final_labels');
}
