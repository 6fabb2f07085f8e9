import type { Knex } from 'knex';
import { EVENTS_APPEND_LOCK, appendEvent } from '../../src/events/outbox';
import { createDatabase } from '../../src/db/knex';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { seedProject } from '../helpers/seed';

/**
 * `events_settled_bound()` against real open transactions: the settled id stops right below the
 * lowest id an open appending transaction may still commit, and moves on when it ends.
 */
let tdb: TestDatabase;
let other: Knex;
let tenant: string;
let project: string;
const open: Knex.Transaction[] = [];

const append = (db: Knex, payload: Record<string, unknown> = {}, dedupeKey?: string) =>
  appendEvent(db, { tenantId: tenant, projectId: project, type: 'job.progress', payload, dedupeKey });
const bound = async (after = 0) => {
  const { rows } = await tdb.db.raw('SELECT settled::text AS settled, next_id::text AS next FROM events_settled_bound(?)', [after]);
  return { settled: rows[0].settled === null ? null : Number(rows[0].settled), next: rows[0].next === null ? null : Number(rows[0].next) };
};
const begin = async () => {
  const trx = await other.transaction();
  open.push(trx);
  return trx;
};

beforeAll(async () => {
  tdb = await createTestDatabase();
  ({ tenantId: tenant, projectId: project } = await seedProject(tdb.db));
  other = createDatabase({ databaseUrl: tdb.url, dataDir: '.data', poolMax: 4 });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => (t.isCompleted() ? undefined : t.rollback().catch(() => undefined))));
});
afterAll(async () => {
  await other?.destroy();
  await tdb?.drop();
});

it('stops below the first id of an open appending transaction, then moves to max(id) when it ends', async () => {
  const a = Number(await append(tdb.db));
  expect(await bound()).toEqual({ settled: a, next: a });

  const trx = await begin();
  const heldId = Number(await append(trx, { held: true }));
  const later = Number(await append(tdb.db));
  expect(await bound(a)).toEqual({ settled: heldId - 1, next: later }); // max(id) is `later`
  await trx.commit();
  expect(await bound(a)).toEqual({ settled: later, next: heldId });
});

it('holds two advisory locks for a transaction of many appends, and settles what a savepoint rolled back', async () => {
  const trx = await begin();
  const first = Number(await append(trx));
  for (let i = 0; i < 50; i++) await append(trx, { i });
  const { rows } = await trx.raw("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()");
  expect(rows[0].n).toBe(2);
  expect((await bound()).settled).toBe(first - 1);
  await trx.rollback();

  // An append inside a savepoint that is rolled back releases its lock: nothing waits for it.
  const outer = await begin();
  await outer.transaction(async (sp) => {
    await append(sp, { in_savepoint: true });
    throw new Error('roll back to savepoint');
  }).catch(() => undefined);
  const committed = Number(await append(tdb.db));
  expect((await bound()).settled).toBe(committed);
  // The outer transaction's own append, after the savepoint, is its first id again.
  const outerId = Number(await append(outer));
  expect((await bound()).settled).toBe(outerId - 1);
  await outer.commit();
  expect((await bound()).settled).toBe(outerId);
});

it('waits for an open transaction whose append was a duplicate, since it drew an id', async () => {
  expect(await append(tdb.db, {}, 'once')).not.toBeNull();
  const trx = await begin();
  expect(await append(trx, {}, 'once')).toBeNull();
  const after = Number(await append(tdb.db));
  expect((await bound()).settled).toBeLessThan(after - 1);
  await trx.commit();
  expect((await bound()).settled).toBe(after);
});

it('answers null ("ask again") while an append holds the append lock but has not yet locked its id', async () => {
  // The instant inside append_event between drawing an id and locking it, held open on purpose.
  const trx = await begin();
  await trx.raw('SELECT pg_advisory_xact_lock_shared(?)', [EVENTS_APPEND_LOCK]);
  expect((await bound()).settled).toBeNull();
  await trx.rollback();
  expect((await bound()).settled).not.toBeNull();
});

it('ignores appends in flight in another database on the same server', async () => {
  const elsewhere = await createTestDatabase();
  try {
    const { tenantId, projectId } = await seedProject(elsewhere.db);
    const trx = await elsewhere.db.transaction();
    await appendEvent(trx, { tenantId, projectId, type: 'job.progress', payload: {} });
    await trx.raw('SELECT pg_advisory_xact_lock_shared(?)', [EVENTS_APPEND_LOCK]);
    const mine = Number(await append(tdb.db));
    expect((await bound()).settled).toBe(mine);
    await trx.rollback();
  } finally {
    await elsewhere.drop();
  }
});
