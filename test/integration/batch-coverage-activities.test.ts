import crypto from 'node:crypto';
import { createBatchCoverageActivities, type CoverPageInput } from '../../activities/batch-coverage';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { seedItems, seedProject } from '../helpers/seed';

/**
 * The coverage page below the workflow: pg_trgm in SQL and the in-process fallback (used where
 * the extension is unavailable) decide the same matches with the same confidences, and a retried
 * page writes nothing twice.
 */
let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});

const SOURCE = 'Screen cracked after one drop from the table';
const TEXTS = [
  SOURCE,
  'screen cracked after one drop from the table!!',
  'Screen cracked after a drop from the table',
  'Screen cracked after one drop from a table',
  'The table was delivered without screws',
  'Screen is bright and sharp',
  'Ünïcödé screen cracked after one drop from the table',
  '',
  'cracked screen',
];

async function newJob(tenantId: string, projectId: string) {
  const id = crypto.randomUUID();
  await tdb.db('jobs').insert({ id, tenant_id: tenantId, project_id: projectId, type: 'batch_coverage', status: 'running', workflow_id: `batch-coverage/${tenantId}/${id}`, created_by: 'u' });
  return id;
}

test('pg_trgm and the in-process fallback agree; a retried page is idempotent', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const ids = await seedItems(tdb.db, tenantId, projectId, TEXTS);
  await tdb.db('items').insert({ id: crypto.randomUUID(), tenant_id: tenantId, project_id: projectId, data: JSON.stringify({ title: 'no text' }) });
  const sql = createBatchCoverageActivities({ db: tdb.db, batchCoverageSimilarity: 'sql' });
  const js = createBatchCoverageActivities({ db: tdb.db, batchCoverageSimilarity: 'js' });
  const auto = createBatchCoverageActivities({ db: tdb.db });

  const outcomes = [];
  for (const acts of [sql, js, auto]) {
    const jobId = await newJob(tenantId, projectId);
    const start = await acts.startBatchCoverageJob({ tenantId, projectId, jobId, sourceItemId: ids[0] });
    expect(start.total).toBe(TEXTS.length); // every item but the source, the text-less one included
    const input: CoverPageInput = {
      tenantId, projectId, jobId, sourceItemId: ids[0], value: { label: 'negative' }, similarityThreshold: 0.5,
      afterSeq: 0, maxSeq: start.maxSeq, pageSize: 100, limit: 100,
    };
    const page = await acts.coverPage(input);
    expect(page).toMatchObject({ scanned: TEXTS.length, exhausted: true });
    const again = await acts.coverPage(input); // a retry
    expect(again).toEqual(page);
    const rows = await tdb.db('annotations').where({ job_id: jobId }).orderBy('item_id').select('item_id', 'confidence');
    expect(rows).toHaveLength(page.suggested);
    outcomes.push(rows.map((r) => [r.item_id, r.confidence]));
  }
  expect(outcomes[1]).toEqual(outcomes[0]);
  expect(outcomes[2]).toEqual(outcomes[0]);
  const matched = new Set(outcomes[0].map(([id]) => id));
  expect(matched).toEqual(new Set([ids[1], ids[2], ids[3], ids[6]]));
});

test('paging by seq and the limit', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const ids = await seedItems(tdb.db, tenantId, projectId, [SOURCE, ...Array.from({ length: 10 }, (_, i) => `${SOURCE} ${i}`)]);
  const acts = createBatchCoverageActivities({ db: tdb.db, batchCoverageSimilarity: 'js' });
  const jobId = await newJob(tenantId, projectId);
  const { maxSeq } = await acts.startBatchCoverageJob({ tenantId, projectId, jobId, sourceItemId: ids[0] });
  const base = { tenantId, projectId, jobId, sourceItemId: ids[0], value: { label: 'negative' }, similarityThreshold: 0.5, maxSeq, pageSize: 4 };
  const p1 = await acts.coverPage({ ...base, afterSeq: 0, limit: 2 });
  expect(p1).toMatchObject({ scanned: 3, matched: 3, suggested: 2, exhausted: false });
  const p2 = await acts.coverPage({ ...base, afterSeq: p1.lastSeq, limit: 100 });
  expect(p2).toMatchObject({ scanned: 4, suggested: 4, exhausted: false });
  const p3 = await acts.coverPage({ ...base, afterSeq: p2.lastSeq, limit: 100 });
  expect(p3).toMatchObject({ scanned: 3, suggested: 3, exhausted: true, lastSeq: maxSeq });
  const rows = await tdb.db('annotations').where({ job_id: jobId }).pluck('item_id');
  expect(new Set(rows)).toEqual(new Set([ids[1], ids[2], ...ids.slice(4)]));
});
