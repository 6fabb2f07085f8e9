import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import { migrationSource } from './migrations';

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
      pool: { min: 0, max: options.poolMax ?? 10 },
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
  const [, applied] = await db.migrate.latest({ migrationSource });
  return applied as string[];
}
