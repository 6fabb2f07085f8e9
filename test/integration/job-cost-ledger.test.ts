import crypto from 'node:crypto';
import { recordUsage, type UsageEntry } from '../../src/llm/ledger';
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

test('every ledger row with a job adds exactly its cost to jobs.cost_usd', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const jobId = crypto.randomUUID();
  await tdb.db('jobs').insert({
    id: jobId, tenant_id: tenantId, project_id: projectId, type: 'pre_annotation', status: 'running',
    workflow_id: `pre-annotation/${tenantId}/${jobId}`, created_by: 'u',
  });
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
