import crypto from 'node:crypto';
import { createLedgerWriter, recordUsage, type UsageEntry } from '../../src/llm/ledger';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { seedProject } from '../helpers/seed';

/** jobs.cost_usd moves with the llm_usage ledger, row for row, under concurrency. */
let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});

/** A project with a running pre-annotation job. */
async function seedJob() {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const jobId = crypto.randomUUID();
  await tdb.db('jobs').insert({
    id: jobId, tenant_id: tenantId, project_id: projectId, type: 'pre_annotation', status: 'running',
    workflow_id: `pre-annotation/${tenantId}/${jobId}`, created_by: 'u',
  });
  return { tenantId, projectId, jobId };
}

test('every ledger row with a job adds exactly its cost to jobs.cost_usd', async () => {
  const { tenantId, projectId, jobId } = await seedJob();
  const entry = (costUsd: string, job: string | null = jobId): UsageEntry => ({
    tenantId, projectId, jobId: job, engineId: crypto.randomUUID(), model: 'm',
    usage: { promptTokens: 10, completionTokens: 2, cachedTokens: 0 }, costUsd, latencyMs: 1, outcome: 'ok',
  });
  // Costs with more digits than numeric(20,10) keeps: the total adds what each row stores.
  const costs = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? '0.00000000004' : i % 3 === 1 ? '0.0001234567891' : '0.1'));
  await Promise.all(costs.map((c) => recordUsage(tdb.db, entry(c))));
  await recordUsage(tdb.db, entry('5', null)); // no job: the ledger only
  await recordUsage(tdb.db, entry('7', 'not-a-uuid'));

  const [{ sum }] = await tdb.db('llm_usage').where({ job_id: jobId }).sum({ sum: 'cost_usd' });
  const job = await tdb.db('jobs').where({ id: jobId }).first();
  expect(job.cost_usd).toBe(sum);
  expect(job.cost_usd).toBe('2.0024691360'); // 20 × 0 + 20 × 0.0001234568 + 20 × 0.1
  const [{ n }] = await tdb.db('llm_usage').count({ n: '*' });
  expect(Number(n)).toBe(62);
});

test('the group-commit writer batches concurrent rows, keeps the job total exact, and fails only a bad row', async () => {
  const { tenantId, projectId, jobId } = await seedJob();
  const statements: string[] = [];
  const onQuery = (q: { sql: string }) => {
    if (/llm_usage/.test(q.sql)) statements.push(q.sql);
  };
  tdb.db.on('query', onQuery);
  const writer = createLedgerWriter(tdb.db);
  const entry = (costUsd: string, tenant = tenantId): UsageEntry => ({
    tenantId: tenant, projectId, jobId, engineId: crypto.randomUUID(), model: 'm',
    usage: { promptTokens: 10, completionTokens: 2, cachedTokens: 0 }, costUsd, latencyMs: 1, outcome: 'ok',
  });
  // 100 concurrent rows: the first goes alone, the 99 that queued behind it in one statement.
  await Promise.all(Array.from({ length: 100 }, () => writer.record(entry('0.0100000001'))));
  expect(statements).toHaveLength(2);
  // A batch with a bad row is retried row by row: only that row's caller fails.
  const results = await Promise.allSettled([
    ...Array.from({ length: 9 }, () => writer.record(entry('0.0100000001'))),
    writer.record(entry('1', 'no-such-tenant')), // violates the tenant foreign key
  ]);
  tdb.db.off('query', onQuery);
  expect(results.map((r) => r.status)).toEqual([...Array(9).fill('fulfilled'), 'rejected']);

  const job = await tdb.db('jobs').where({ id: jobId }).first();
  expect(job.cost_usd).toBe('1.0900000109'); // 109 × 0.0100000001
  const [{ n }] = await tdb.db('llm_usage').where({ job_id: jobId }).count({ n: '*' });
  expect(Number(n)).toBe(109);
});
