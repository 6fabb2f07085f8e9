import { migrateLatest } from '../../src/db/knex';
import { MIGRATIONS, migrationSource, migrationSourceOf } from '../../src/db/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/** The order src/db/migrations.ts ran them in before issue 11: 200 after 250 and 300. */
const OLD_ORDER = [
  '20261125000001_initial_schema',
  '20261125000101_llm_cache',
  '20261125000250_job_budget',
  '20261125000300_tasks_conflicts',
  '20261125000200_suggestions_feedback',
  '20261125000400_quality',
  '20261125000500_one_round_trip_writes',
  '20261202000100_ledger_write_ahead',
  '20261202000200_events_settled_bound',
  '20261202000300_conflict_workflow_started',
];

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase('anno_migrations_order');
});
afterAll(async () => {
  await tdb?.drop();
});

const applied = async () => (await tdb.db('knex_migrations').orderBy('id').pluck('name')) as string[];

test('a fresh database migrates in file-name order', async () => {
  expect(await applied()).toEqual(MIGRATIONS.map(([name]) => name));
  expect(await tdb.db.schema.hasTable('few_shot_pool')).toBe(true);
  expect(await tdb.db.schema.hasTable('conflicts')).toBe(true);
});

test('a database migrated in the old order has only the later migrations left to run, and rolls back and forward', async () => {
  await tdb.db.migrate.rollback({ migrationSource }, true);
  expect(await tdb.db.schema.hasTable('jobs')).toBe(false);

  const byName = new Map(MIGRATIONS);
  await tdb.db.migrate.latest({ migrationSource: migrationSourceOf(OLD_ORDER.map((name) => [name, byName.get(name)!] as const)) });
  expect(await applied()).toEqual(OLD_ORDER);

  // Only the migrations added since remain to run.
  expect(await migrateLatest(tdb.db)).toEqual(MIGRATIONS.map(([name]) => name).filter((name) => !OLD_ORDER.includes(name)));
  await tdb.db.migrate.rollback({ migrationSource }, true);
  expect(await tdb.db.schema.hasTable('suggestions')).toBe(false);
  expect(await migrateLatest(tdb.db)).toEqual(MIGRATIONS.map(([name]) => name));
});
