import crypto from 'node:crypto';
import { createProviderBatchActivities, derivedUuid } from '../../activities/provider-batches';
import { createBatchProviders } from '../../src/llm/batch';
import { PRE_ANNOTATION_JOB_TYPE } from '../../src/jobs/job-types';
import { createJobRow } from '../../src/jobs/lifecycle';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeAnthropic, type FakeAnthropic } from '../helpers/fake-anthropic';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import { waitFor } from '../helpers/wait';

/**
 * The batch-mode activities against PostgreSQL and the fake providers, without Temporal: a
 * retried submit — even one whose first attempt created the provider batch and died before
 * storing its id — creates no second batch; the ledger is written ahead at the batch price's
 * upper bound and settled at collect; a budget refuses a batch whose upper bound does not fit.
 */
let tdb: TestDatabase;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;

beforeAll(async () => {
  [tdb, openai, anthropic] = await Promise.all([createTestDatabase(), startFakeOpenAI({ batch: { processingMs: 50 } }), startFakeAnthropic({ batch: { processingMs: 50 } })]);
});
afterAll(async () => {
  await Promise.all([tdb?.drop(), openai?.close(), anthropic?.close()]);
});

async function jobWith(n: number, provider: 'openai' | 'anthropic') {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(n));
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({
    id: engineId, tenant_id: tenantId, name: `e-${engineId.slice(0, 6)}`, provider, model: 'fake', base_url: provider === 'openai' ? openai.baseUrl : anthropic.baseUrl,
    price_input_per_1k: '0.004', price_output_per_1k: '0.008',
  });
  const jobId = crypto.randomUUID();
  await createJobRow(tdb.db, { id: jobId, tenantId, projectId, type: PRE_ANNOTATION_JOB_TYPE, workflowId: `t/${jobId}`, createdBy: 'u', params: {} }, { kind: 'unannotated' });
  return { tenantId, projectId, engineId, jobId };
}

const activities = () => createProviderBatchActivities({ db: tdb.db });

test.each(['openai', 'anthropic'] as const)('%s: a submit retried after the provider created the batch, before its id was stored, creates no second batch', async (provider) => {
  const fake = provider === 'openai' ? openai : anthropic;
  const { tenantId, projectId, engineId, jobId } = await jobWith(12, provider);
  const a = activities();
  const input = { tenantId, projectId, jobId, engineId, fromSeq: 0, toSeq: 12, attempt: 0 };
  const created = fake.batches.created;
  const first = await a.submitProviderBatch(input);
  expect(first.kind).toBe('submitted');
  // The same call again (a retry after a lost answer): the stored row answers.
  expect(await a.submitProviderBatch(input)).toEqual(first);
  // The first attempt died between the provider's create and the row update.
  await tdb.db('provider_batches').where({ job_id: jobId }).update({ provider_batch_id: null, status: 'submitting' });
  const recovered = await a.submitProviderBatch(input);
  expect(recovered.kind === 'submitted' && recovered.batch.id).toBe(first.kind === 'submitted' && first.batch.id);
  expect(fake.batches.created - created).toBe(1);
  // Written ahead: one in-flight ledger row per request at its upper bound, opened once.
  const open = await tdb.db('llm_usage').where({ job_id: jobId });
  expect(open).toHaveLength(12);
  expect(open.every((r) => r.state === 'in_flight')).toBe(true);

  const rowId = first.kind === 'submitted' ? first.batch.rowId : '';
  await waitFor(() => a.pollProviderBatch({ tenantId, rowId }), (v) => v.ended, 5000, 'the batch to end');
  const collected = await a.collectProviderBatch({ tenantId, projectId, jobId, rowId, finalAttempt: false });
  expect(collected).toMatchObject({ remaining: 0, answered: 12, failed: 0, counters: { processed: 12, succeeded: 12 } });
  // A retried collect writes and settles nothing twice.
  expect(await a.collectProviderBatch({ tenantId, projectId, jobId, rowId, finalAttempt: false })).toMatchObject({ remaining: 0, counters: { processed: 12 } });
  expect(await tdb.db('annotations').where({ job_id: jobId })).toHaveLength(12);
  const settled = await tdb.db('llm_usage').where({ job_id: jobId });
  expect(settled.every((r) => r.state === 'settled' && r.outcome === 'ok')).toBe(true);
  const job = await tdb.db('jobs').where({ id: jobId }).first('cost_usd');
  const sum = await tdb.db('llm_usage').where({ job_id: jobId }).sum({ s: 'cost_usd' });
  expect(Number(job.cost_usd)).toBeGreaterThan(0);
  expect(String(job.cost_usd)).toBe(String(sum[0].s));
});

test('a budget smaller than the batch’s upper-bound cost creates nothing; a larger one submits', async () => {
  const { tenantId, projectId, engineId, jobId } = await jobWith(10, 'openai');
  const a = activities();
  const created = openai.batches.created;
  const refused = await a.submitProviderBatch({ tenantId, projectId, jobId, engineId, fromSeq: 0, toSeq: 10, attempt: 0, maxCostUsd: '0.0001' });
  expect(refused).toMatchObject({ kind: 'budget', toSeq: 10, spentUsd: '0' });
  expect(openai.batches.created).toBe(created);
  expect(await tdb.db('provider_batches').where({ job_id: jobId })).toHaveLength(0);
  expect(await tdb.db('llm_usage').where({ job_id: jobId })).toHaveLength(0);
  const upper = refused.kind === 'budget' ? refused.upperBoundUsd : '0';
  const ok = await a.submitProviderBatch({ tenantId, projectId, jobId, engineId, fromSeq: 0, toSeq: 10, attempt: 0, maxCostUsd: upper });
  expect(ok.kind).toBe('submitted');
  expect(openai.batches.created).toBe(created + 1);
  // The job's spend now counts the batch at its upper bound until it is collected.
  const job = await tdb.db('jobs').where({ id: jobId }).first('cost_usd');
  expect(Number(job.cost_usd)).toBeCloseTo(Number(upper), 10);
});

test('a chunk larger than the provider’s limits is cut short at the last request that fits', async () => {
  const { tenantId, projectId, engineId, jobId } = await jobWith(12, 'openai');
  const real = createBatchProviders().openai!;
  const lineBytes = Buffer.byteLength(real.requestLine(
    { id: engineId, tenant_id: tenantId, name: 'x', provider: 'openai', model: 'fake', base_url: null, api_key_env: null, params: {}, price_input_per_1k: '0', price_output_per_1k: '0', batch: true, batch_price_input_per_1k: null, batch_price_output_per_1k: null, rate_limit: null, fallback_engine_ids: [], enabled: true },
    { type: 'single_label', labels: ['positive', 'negative', 'neutral'] }, crypto.randomUUID(), [{ role: 'user', content: 'x' }],
  ));
  const bytesLimited = createProviderBatchActivities({ db: tdb.db, batchProviders: { openai: { ...real, limits: { maxRequests: 50_000, maxBytes: lineBytes * 4 } } } });
  const cut = await bytesLimited.submitProviderBatch({ tenantId, projectId, jobId, engineId, fromSeq: 0, toSeq: 12, attempt: 0 });
  // Real lines are longer than the probe line (prompts, item text): fewer than 4 fit, at least 1.
  expect(cut.kind).toBe('submitted');
  const first = cut.kind === 'submitted' ? cut.batch : null;
  expect(first!.requestCount).toBeGreaterThanOrEqual(1);
  expect(first!.requestCount).toBeLessThan(4);
  expect(first!.toSeq).toBe(first!.requestCount);
  const countLimited = createProviderBatchActivities({ db: tdb.db, batchProviders: { openai: { ...real, limits: { maxRequests: 5, maxBytes: 200 * 1024 * 1024 } } } });
  const next = await countLimited.submitProviderBatch({ tenantId, projectId, jobId, engineId, fromSeq: first!.toSeq, toSeq: 12, attempt: 0 });
  expect(next.kind === 'submitted' && [next.batch.requestCount, next.batch.fromSeq, next.batch.toSeq]).toEqual([5, first!.toSeq, first!.toSeq + 5]);
});

test('batch keys are deterministic per job, chunk and attempt', () => {
  expect(derivedUuid('provider-batch:j:0:0')).toBe(derivedUuid('provider-batch:j:0:0'));
  expect(derivedUuid('provider-batch:j:0:0')).not.toBe(derivedUuid('provider-batch:j:0:1'));
  expect(derivedUuid('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
