import crypto from 'node:crypto';
import { answeredRow, createAnnotationWriter } from '../../activities/ai-annotations';
import { DEFAULT_THRESHOLDS } from '../../src/annotation/routing';
import { collectWrites } from '../../src/llm/collected-writes';
import { openUsageBatch } from '../../src/llm/ledger';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { seedItems, seedProject } from '../helpers/seed';

/**
 * Pre-annotation's writer: an item's annotation, its final label, its call's ledger settlement
 * (moving the job's spend) and its cache entry in one statement, shared by items finishing
 * together; and when the annotation cannot be written, the bookkeeping still is.
 */
let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});

async function seedJob(n: number) {
  const { tenantId, projectId } = await seedProject(tdb.db);
  const itemIds = await seedItems(tdb.db, tenantId, projectId, Array.from({ length: n }, (_, i) => `text ${i}`));
  const jobId = crypto.randomUUID();
  await tdb.db('jobs').insert({
    id: jobId, tenant_id: tenantId, project_id: projectId, type: 'pre_annotation', status: 'running',
    workflow_id: `pre-annotation/${tenantId}/${jobId}`, created_by: 'u',
  });
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: `e-${engineId.slice(0, 8)}`, provider: 'openai', model: 'm', base_url: 'http://127.0.0.1:1/v1' });
  return { tenantId, projectId, jobId, itemIds, engineId };
}

/** One answered call per item: its row opened at the upper bound, its settlement and cache entry collected. */
async function answeredCalls(job: Awaited<ReturnType<typeof seedJob>>) {
  const { engineId } = job;
  const opened = await openUsageBatch(
    tdb.db,
    job.itemIds.map(() => ({ key: crypto.randomUUID(), tenantId: job.tenantId, projectId: job.projectId, jobId: job.jobId, engineId, model: 'm', costUpperUsd: '0.01', deadlineMs: 60_000 })),
  );
  return job.itemIds.map((itemId, i) => {
    const writes = collectWrites();
    void writes.ledger.settle(opened[i], { usage: { promptTokens: 10, completionTokens: 2, cachedTokens: 0 }, costUsd: '0.0012', latencyMs: 5, outcome: 'ok' });
    writes.cache.put(`key-${itemId}`, { tenantId: job.tenantId, engineId, model: 'm', responseText: '{"label":"positive"}', promptTokens: 10, completionTokens: 2 }, 3600);
    const row = answeredRow({ tenantId: job.tenantId, projectId: job.projectId, jobId: job.jobId, itemId }, engineId, { value: { label: 'positive' }, confidence: 0.99 }, DEFAULT_THRESHOLDS);
    return { row, writes };
  });
}

test('items finishing together share one statement: annotations, final labels, settlements, spend and cache entries', async () => {
  const job = await seedJob(40);
  const calls = await answeredCalls(job);
  const writer = createAnnotationWriter(tdb.db);
  await Promise.all(calls.map((c) => writer.write(c.row, c.writes)));

  expect(Number((await tdb.db('annotations').where({ job_id: job.jobId }).count({ n: '*' }))[0].n)).toBe(40);
  expect(Number((await tdb.db('final_labels').whereIn('item_id', job.itemIds).where({ source: 'ai' }).count({ n: '*' }))[0].n)).toBe(40);
  const usage = await tdb.db('llm_usage').where({ job_id: job.jobId });
  expect(usage.map((u) => u.state)).toEqual(Array(40).fill('settled'));
  const { cost_usd } = await tdb.db('jobs').where({ id: job.jobId }).first('cost_usd');
  expect(cost_usd).toBe('0.0480000000'); // 40 × 0.0012: exactly the settled rows, no upper bound left
  expect(Number((await tdb.db('llm_cache').whereIn('key', job.itemIds.map((id) => `key-${id}`)).count({ n: '*' }))[0].n)).toBe(40);
});

test('an annotation the database refuses fails its item alone, and its call stays counted at its real cost', async () => {
  const job = await seedJob(6);
  const calls = await answeredCalls(job);
  const refused = job.itemIds[2];
  // The fault: this one item's annotation breaks a constraint (a permanent error, not retried).
  await tdb.db.raw(`ALTER TABLE annotations ADD CONSTRAINT fault_refused_item CHECK (item_id <> '${refused}')`);
  try {
    const writer = createAnnotationWriter(tdb.db);
    const outcomes = await Promise.allSettled(calls.map((c) => writer.write(c.row, c.writes)));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  } finally {
    await tdb.db.raw('ALTER TABLE annotations DROP CONSTRAINT fault_refused_item');
  }
  const annotated = await tdb.db('annotations').where({ job_id: job.jobId }).pluck('item_id');
  expect(annotated.sort()).toEqual(job.itemIds.filter((id) => id !== refused).sort());
  // Every call's settlement is stored, the refused item's too: the job's spend is exact.
  const usage = await tdb.db('llm_usage').where({ job_id: job.jobId });
  expect(usage.every((u) => u.state === 'settled' && u.cost_usd === '0.0012000000')).toBe(true);
  const { cost_usd } = await tdb.db('jobs').where({ id: job.jobId }).first('cost_usd');
  expect(cost_usd).toBe('0.0072000000');
});
