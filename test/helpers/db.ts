import crypto from 'node:crypto';
import knexFactory, { Knex } from 'knex';
import { createDatabase, migrateLatest } from '../../src/db/knex';

/** The PostgreSQL server tests use (one runs at 127.0.0.1:5432 on these machines). */
export const TEST_PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  db: Knex;
  url: string;
  name: string;
  drop(): Promise<void>;
}

function urlFor(name: string): string {
  const u = new URL(TEST_PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh, migrated database of its own for one test file; `drop()` removes it. */
export async function createTestDatabase(prefix = 'anno_test'): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: TEST_PG_ADMIN_URL, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } finally {
    await admin.destroy();
  }
  const url = urlFor(name);
  const db = createDatabase({ databaseUrl: url, dataDir: '.data' });
  await migrateLatest(db);
  return {
    db,
    url,
    name,
    async drop() {
      await db.destroy();
      const a = knexFactory({ client: 'pg', connection: TEST_PG_ADMIN_URL, pool: { min: 0, max: 1 } });
      try {
        await a.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await a.destroy();
      }
    },
  };
}
