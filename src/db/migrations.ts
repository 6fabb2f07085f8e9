import type { Knex } from 'knex';
import * as initialSchema from '../../migrations/20261125000001_initial_schema';
import * as llmCache from '../../migrations/20261125000101_llm_cache';
import * as suggestionsFeedback from '../../migrations/20261125000200_suggestions_feedback';
import * as jobBudget from '../../migrations/20261125000250_job_budget';
import * as tasksConflicts from '../../migrations/20261125000300_tasks_conflicts';
import * as quality from '../../migrations/20261125000400_quality';
import * as oneRoundTripWrites from '../../migrations/20261125000500_one_round_trip_writes';
import * as ledgerWriteAhead from '../../migrations/20261202000100_ledger_write_ahead';
import * as eventsSettledBound from '../../migrations/20261202000200_events_settled_bound';
import * as conflictWorkflowStarted from '../../migrations/20261202000300_conflict_workflow_started';
import * as finalLabels from '../../migrations/20261202000400_final_labels';
import * as providerBatches from '../../migrations/20261202164800_provider_batches';
import * as llmRateBuckets from '../../migrations/20261202180000_llm_rate_buckets';

export interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Every migration, in the order they run: the order of their file names (test/unit/db/migrations
 * checks it). Migrations are imported, not discovered on disk, so they run the same under tsx,
 * jest and the compiled build. Add each new file in `migrations/` here, at the end.
 *
 * Until issue 11, 200_suggestions_feedback ran after 250_job_budget and 300_tasks_conflicts.
 * The three touch disjoint tables (200 creates suggestions and few_shot_pool on the initial
 * schema's tenants, projects and items; 250 alters jobs; 300 creates tasks and conflicts and
 * indexes annotations), so the names stay and only the list moved: knex checks that every name
 * in `knex_migrations` is in this list, never the order they were applied in, so a database
 * migrated in the old order has nothing left to run and a fresh one runs them in name order
 * (test/integration/migrations-order.test.ts migrates one each way).
 */
export const MIGRATIONS: ReadonlyArray<readonly [name: string, migration: Migration]> = [
  ['20261125000001_initial_schema', initialSchema],
  ['20261125000101_llm_cache', llmCache],
  ['20261125000200_suggestions_feedback', suggestionsFeedback],
  ['20261125000250_job_budget', jobBudget],
  ['20261125000300_tasks_conflicts', tasksConflicts],
  ['20261125000400_quality', quality],
  ['20261125000500_one_round_trip_writes', oneRoundTripWrites],
  ['20261202000100_ledger_write_ahead', ledgerWriteAhead],
  ['20261202000200_events_settled_bound', eventsSettledBound],
  ['20261202000300_conflict_workflow_started', conflictWorkflowStarted],
  ['20261202000400_final_labels', finalLabels],
  ['20261202164800_provider_batches', providerBatches],
  ['20261202180000_llm_rate_buckets', llmRateBuckets],
];

/** A knex migration source over a list of named migrations (tests build one over another order). */
export function migrationSourceOf(list: ReadonlyArray<readonly [string, Migration]>): Knex.MigrationSource<string> {
  const byName = new Map(list);
  return {
    getMigrations: async () => list.map(([name]) => name),
    getMigrationName: (name) => name,
    getMigration: async (name) => byName.get(name)!,
  };
}

export const migrationSource: Knex.MigrationSource<string> = migrationSourceOf(MIGRATIONS);
