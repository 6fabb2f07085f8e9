import crypto from 'node:crypto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPreAnnotationActivities } from '../../activities/pre-annotation';
import { createSwitcher } from '../../src/llm/switcher';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject } from '../helpers/seed';

/** A batch activity waiting out a provider's Retry-After stops as soon as the activity is cancelled. */
let tdb: TestDatabase;
let fake: FakeOpenAI;

beforeAll(async () => {
  [tdb, fake] = await Promise.all([createTestDatabase(), startFakeOpenAI()]);
});
afterAll(async () => {
  await fake?.close();
  await tdb?.drop();
});

test('cancelling the activity ends its backoff waits at once: no further calls, no annotation written', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const itemIds = await seedItems(tdb.db, tenantId, projectId, ['first, positive', 'second, negative']);
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: 'limited', provider: 'openai', model: 'limited', base_url: fake.baseUrl });
  const jobId = crypto.randomUUID();
  await tdb.db('jobs').insert({ id: jobId, tenant_id: tenantId, project_id: projectId, type: 'pre_annotation', status: 'running', workflow_id: `test/${jobId}`, created_by: 'test' });
  await tdb.db('job_items').insert(itemIds.map((item_id, seq) => ({ job_id: jobId, seq, item_id })));
  fake.setFault(() => ({ status: 429, retryAfter: 20 })); // each retry would wait 20 s

  const activities = createPreAnnotationActivities({ db: tdb.db, switcher: createSwitcher({ db: tdb.db, timeoutMs: 5000 }), llmConcurrency: 4 });
  const env = new MockActivityEnvironment({ heartbeatTimeoutMs: 10_000 });
  const started = Date.now();
  const run = env.run(activities.annotateBatch, { tenantId, projectId, jobId, engineId, fallbackEngineIds: [], concurrency: 2, fromSeq: 0, toSeq: 2 });
  while (fake.requestCount < 2) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 200)); // both items are in their backoff wait now
  env.cancel('CANCELLED');
  await expect(run).rejects.toBeDefined();
  expect(Date.now() - started).toBeLessThan(5000);
  expect(fake.requestCount).toBe(2);
  // Cancelled is not failed: no annotation, so a retried activity annotates the items.
  expect(await tdb.db('annotations').where({ job_id: jobId })).toEqual([]);
  expect((await tdb.db('llm_usage').where({ job_id: jobId })).map((u) => u.outcome)).toEqual(['rate_limited', 'rate_limited']);
});
