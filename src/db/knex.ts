import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { migrationSource } from './migrations';
import { backfillFinalLabels } from '../data/final-labels';

/** The migration that creates `final_labels`; existing data is backfilled right after it runs. */
const FINAL_LABELS_MIGRATION = '20261202000400_final_labels';

export interface DatabaseOptions {
  /** A PostgreSQL URL; without one, an embedded PGlite database lives in `dataDir/pglite`. */
  databaseUrl?: string;
  dataDir: string;
  poolMax?: number;
}

// Postgres returns bigint (int8) and numeric as strings; counts we read as numbers where needed.
export function createDatabase(options: DatabaseOptions): Knex {
  if (options.databaseUrl) {
    return knexFactory({
      client: 'pg',
      connection: options.databaseUrl,
      // Idle connections are kept 5 minutes (tarn's default is 30 s): opening one costs a request
      // several milliseconds, and a burst after a quiet half-minute would otherwise pay it per connection.
      pool: { min: 0, max: options.poolMax ?? 10, idleTimeoutMillis: 300_000 },
    });
  }
  const dir = path.join(options.dataDir, 'pglite');
  fs.mkdirSync(dir, { recursive: true });
  return knexFactory({ client: ClientPgLite as unknown as typeof knexFactory.Client, dialect: 'postgres', connection: { filename: dir } } as Knex.Config);
}

export function isEmbedded(db: Knex): boolean {
  return !(db.client.config.client === 'pg');
}

export async function migrateLatest(db: Knex): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [unknown, string[]];
  // The table of final labels starts with the decisions already taken (existing data).
  if (applied.includes(FINAL_LABELS_MIGRATION)) await backfillFinalLabels(db);
  return applied;
}
