import crypto from 'node:crypto';
import { migrateLatest } from '../../src/db/knex';
import { migrationSource } from '../../src/db/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { seedProject } from '../helpers/seed';

/**
 * A database that had data before `final_labels` existed: the migration creates the table and
 * `migrateLatest` backfills it from the decisions already taken, by the same rule the writers use.
 */
let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase('anno_final_backfill');
});
afterAll(async () => {
  await tdb?.drop();
});

test('the migration backfills one final label per decided item, and a second run has nothing to do', async () => {
  await tdb.db.migrate.down({ migrationSource, name: '20261202000400_final_labels' });
  expect(await tdb.db.schema.hasTable('final_labels')).toBe(false);

  const { tenantId, projectId } = await seedProject(tdb.db);
  const ids = Array.from({ length: 5 }, () => crypto.randomUUID());
  const [gold, humans, ai, review, nothing] = ids;
  await tdb.db('items').insert(ids.map((id, i) => ({ id, tenant_id: tenantId, project_id: projectId, data: JSON.stringify({ text: `item ${i}` }), gold_label: id === gold ? JSON.stringify({ label: 'negative' }) : null })));
  const annotation = (itemId: string, source: 'human' | 'ai', annotator: string, label: string, status: string) => ({
    id: crypto.randomUUID(), tenant_id: tenantId, project_id: projectId, item_id: itemId, source, annotator_id: annotator, value: JSON.stringify({ label }), status, ...(source === 'ai' ? { confidence: 0.9 } : {}),
  });
  await tdb.db('annotations').insert([
    annotation(gold, 'human', 'h1', 'positive', 'submitted'),
    annotation(humans, 'human', 'h1', 'neutral', 'submitted'),
    annotation(humans, 'human', 'h2', 'neutral', 'submitted'),
    annotation(ai, 'ai', 'engine-x', 'positive', 'auto_accepted'),
    annotation(review, 'ai', 'engine-x', 'negative', 'needs_review'),
  ]);

  expect(await migrateLatest(tdb.db)).toEqual(['20261202000400_final_labels']);
  const rows = await tdb.db('final_labels').where({ project_id: projectId }).select('item_id', 'source', 'method', 'label', 'decided_by');
  const byItem = new Map(rows.map((r) => [r.item_id, r]));
  expect(byItem.get(gold)).toMatchObject({ source: 'gold', label: 'negative' });
  expect(byItem.get(humans)).toMatchObject({ source: 'consensus', method: 'unanimous', label: 'neutral' });
  expect(byItem.get(ai)).toMatchObject({ source: 'ai', label: 'positive', decided_by: 'engine-x' });
  expect(byItem.has(review)).toBe(false); // an AI label waiting for review decides nothing
  expect(byItem.has(nothing)).toBe(false);
  expect(rows).toHaveLength(3);
  expect(await migrateLatest(tdb.db)).toEqual([]);
});
