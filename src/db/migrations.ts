import type { Knex } from 'knex';
import * as initialSchema from '../../migrations/20261125000001_initial_schema';
import * as llmCache from '../../migrations/20261125000101_llm_cache';
import * as jobBudget from '../../migrations/20261125000250_job_budget';
import * as tasksConflicts from '../../migrations/20261125000300_tasks_conflicts';
import * as suggestionsFeedback from '../../migrations/20261125000200_suggestions_feedback';
import * as quality from '../../migrations/20261125000400_quality';
import * as oneRoundTripWrites from '../../migrations/20261125000500_one_round_trip_writes';
import * as ledgerWriteAhead from '../../migrations/20261202000100_ledger_write_ahead';
import * as eventsSettledBound from '../../migrations/20261202000200_events_settled_bound';
import * as conflictWorkflowStarted from '../../migrations/20261202000300_conflict_workflow_started';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are imported, not discovered on disk, so they run the same under tsx, jest and
 * the compiled build. Add each new file in `migrations/` here, in order.
 */
const migrations: Record<string, Migration> = {
  '20261125000001_initial_schema': initialSchema,
  '20261125000101_llm_cache': llmCache,
  '20261125000250_job_budget': jobBudget,
  '20261125000300_tasks_conflicts': tasksConflicts,
  '20261125000200_suggestions_feedback': suggestionsFeedback,
  '20261125000400_quality': quality,
  '20261125000500_one_round_trip_writes': oneRoundTripWrites,
  '20261202000100_ledger_write_ahead': ledgerWriteAhead,
  '20261202000200_events_settled_bound': eventsSettledBound,
  '20261202000300_conflict_workflow_started': conflictWorkflowStarted,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name],
};
