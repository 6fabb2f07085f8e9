import { compareDecimals, canonicalDecimal } from '../../src/annotation/budget';
import { batchPrices, computeCostUsd, sumDecimals } from '../../src/llm/cost';
import { tokenFor, type TestApi } from '../helpers/api';
import { startFakeAnthropic, type FakeAnthropic } from '../helpers/fake-anthropic';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { sentimentTexts } from '../helpers/seed';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

/**
 * Batch-mode pre-annotation end to end: HTTP → preAnnotation on the real Temporal dev server →
 * provider batches on the fake OpenAI and Anthropic servers over HTTP → annotations, ledger and
 * progress in PostgreSQL. Every item annotated exactly once, at the batch price; failed and
 * expired requests retried; cancel cancels the provider batch; a budget stops submission.
 */
jest.setTimeout(120_000);

let stack: TestStack;
let api: TestApi;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;

const TENANT = 'acme';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const PRICE = { input_per_1k: '0.0123456789', output_per_1k: '0.0234567891' };

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startFakeOpenAI({ batch: { processingMs: 300 } }), startFakeAnthropic({ batch: { processingMs: 300 } })]);
  stack = await startTestStack({
    PROVIDER_BATCH_SIZE: '25',
    PROVIDER_BATCH_POLL_INITIAL_MS: '100',
    PROVIDER_BATCH_POLL_MAX_MS: '400',
    PROVIDER_BATCH_RETRIES: '2',
    PROVIDER_BATCH_SYNC_RETRY_BELOW: '2',
    PRE_ANNOTATION_BATCH_SIZE: '10',
    LLM_CONCURRENCY: '8',
  });
  ({ api } = stack);
});
afterAll(async () => {
  await stack?.stop();
  await Promise.all([openai?.close(), anthropic?.close()]);
});
beforeEach(() => {
  for (const store of [openai.batches, anthropic.batches]) store.setOptions({ processingMs: 300, requestFault: null, outcome: null });
});

async function call(method: string, url: string, json?: unknown) {
  const res = await api.request(`/api/v1${url}`, { method, token: manager, json });
  return { status: res.status, body: (await res.json()) as any };
}

async function setup(n: number, provider: 'openai' | 'anthropic' = 'openai', texts = sentimentTexts(n)) {
  const project = await call('POST', '/projects', { name: `Batch ${crypto.randomUUID().slice(0, 6)}`, label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } });
  const imported = await call('POST', `/projects/${project.body.id}/items`, { items: texts.map((text) => ({ data: { text } })) });
  expect(imported.status).toBe(201);
  const engine = await call('POST', '/annotation/engines', {
    name: `${provider}-${crypto.randomUUID().slice(0, 6)}`, provider, model: `fake-${provider}`, base_url: provider === 'openai' ? openai.baseUrl : anthropic.baseUrl, price: PRICE, params: { cache: false },
  });
  expect(engine.status).toBe(201);
  return { projectId: project.body.id as string, engineId: engine.body.id as string, itemIds: imported.body.item_ids as string[] };
}

const progressOf = async (jobId: string) => (await call('GET', `/annotation/pre-annotate/${jobId}/progress`)).body;
const ended = (jobId: string) => waitFor(() => progressOf(jobId), (p) => ['completed', 'cancelled', 'failed'].includes(p.status), 60_000, `job ${jobId} to end`);

async function annotationsOf(jobId: string) {
  return stack.tdb.db('annotations').where({ job_id: jobId }).select('item_id', 'status', 'value', 'error');
}

/** The ledger must be the job's spend, to the last digit, with every answered request at the batch price. */
async function expectLedgerAtBatchPrice(jobId: string, engineId: string, answered: number) {
  const rows = await stack.tdb.db('llm_usage').where({ job_id: jobId }).select('prompt_tokens', 'completion_tokens', 'cost_usd', 'outcome', 'state');
  expect(rows.filter((r) => r.state !== 'settled')).toHaveLength(0);
  const ok = rows.filter((r) => r.outcome === 'ok');
  expect(ok.length).toBe(answered);
  const engine = await stack.tdb.db('engines').where({ id: engineId }).first();
  for (const r of ok) {
    // The ledger's numeric(20,10), as for sync calls.
    const exact = computeCostUsd({ promptTokens: r.prompt_tokens, completionTokens: r.completion_tokens, cachedTokens: 0 }, batchPrices(engine));
    const stored = (await stack.tdb.db.raw('SELECT ?::numeric(20,10)::text AS v', [exact])).rows[0].v;
    expect(canonicalDecimal(r.cost_usd)).toBe(canonicalDecimal(stored));
  }
  const job = await stack.tdb.db('jobs').where({ id: jobId }).first('cost_usd');
  expect(compareDecimals(job.cost_usd, sumDecimals(rows.map((r) => r.cost_usd)))).toBe(0);
  return rows;
}

test('engines: batch defaults on with half the sync price; local engines cannot batch; batch: false is kept', async () => {
  const { engineId } = await setup(1);
  const engine = (await call('GET', `/annotation/engines/${engineId}`)).body;
  expect(engine).toMatchObject({ batch: true, batch_price: { input_per_1k: '0.00617283945', output_per_1k: '0.01172839455' }, batch_price_default: true });
  const custom = await call('PUT', `/annotation/engines/${engineId}`, { batch_price: { input_per_1k: '0.001', output_per_1k: '0.002' } });
  expect(custom.body).toMatchObject({ batch_price: { input_per_1k: '0.001', output_per_1k: '0.002' }, batch_price_default: false });
  const local = await call('POST', '/annotation/engines', { name: 'local-batch', provider: 'local', model: 'x', batch: true });
  expect(local.status).toBe(422);
  expect(local.body.error.details).toEqual([expect.objectContaining({ field: 'batch' })]);
  const off = await call('POST', '/annotation/engines', { name: 'no-batch', provider: 'openai', model: 'x', base_url: openai.baseUrl, batch: false });
  expect(off.body.batch).toBe(false);
});

test('batch mode on an engine without a batch API is a 422 naming the engine', async () => {
  const { projectId } = await setup(2);
  const local = await call('POST', '/annotation/pre-annotate', { project_id: projectId, mode: 'batch' }); // default: the built-in local engine
  expect(local.status).toBe(422);
  expect(local.body.error.details[0]).toMatchObject({ field: 'mode' });
  expect(local.body.error.details[0].message).toMatch(/engine [0-9a-f-]{36} is a local engine/);
  const off = await call('POST', '/annotation/engines', { name: `off-${crypto.randomUUID().slice(0, 6)}`, provider: 'openai', model: 'x', base_url: openai.baseUrl, batch: false });
  const refused = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: off.body.id, mode: 'batch' });
  expect(refused.status).toBe(422);
  expect(refused.body.error.details[0].message).toContain(off.body.id);
});

test.each(['openai', 'anthropic'] as const)('a %s batch job annotates every item exactly once through provider batches, at the batch price', async (provider) => {
  const n = provider === 'openai' ? 60 : 30;
  const { projectId, engineId } = await setup(n, provider);
  const fake = provider === 'openai' ? openai : anthropic;
  const created = fake.batches.created;
  const syncCalls = provider === 'openai' ? openai.requestCount : anthropic.requests.length;
  const started = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: engineId, mode: 'batch' });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id;

  // While a provider batch runs, progress lists it with the provider's status and counts.
  const waiting = await waitFor(() => progressOf(jobId), (p) => p.provider_batches?.[0]?.id, 30_000, 'a provider batch in progress');
  expect(waiting.mode).toBe('batch');
  expect(waiting.provider_batches[0]).toMatchObject({ provider, id: expect.any(String), created_at: expect.any(String), expires_at: expect.any(String) });

  const done = await ended(jobId);
  expect(done).toMatchObject({ status: 'completed', total: n, processed: n, succeeded: n, failed: 0 });
  const annotations = await annotationsOf(jobId);
  expect(annotations).toHaveLength(n);
  expect(new Set(annotations.map((a) => a.item_id)).size).toBe(n);
  // Chunks of 25: ceil(n / 25) provider batches, nothing asked synchronously.
  expect(fake.batches.created - created).toBe(Math.ceil(n / 25));
  expect((provider === 'openai' ? openai.requestCount : anthropic.requests.length) - syncCalls).toBe(0);
  expect(done.provider_batches.every((b: any) => b.collected && b.attempt === 0)).toBe(true);
  await expectLedgerAtBatchPrice(jobId, engineId, n);
  const view = (await call('GET', `/annotation/jobs/${jobId}`)).body;
  expect(view.progress.provider_batches).toHaveLength(Math.ceil(n / 25));
  // job.progress events as results arrive, listing the provider batches.
  const events = await stack.tdb.db('events').where({ type: 'job.progress' }).whereRaw("payload->>'job_id' = ?", [jobId]).orderBy('id');
  const withBatches = events.filter((e) => Array.isArray(e.payload.provider_batches));
  expect(withBatches.length).toBeGreaterThanOrEqual(Math.ceil(n / 25));
  expect(withBatches.at(-1)!.payload).toMatchObject({ processed: n, provider_batches: expect.arrayContaining([expect.objectContaining({ provider, collected: true })]) });
});

test('per-request errors and an expired batch: those items are retried in a new batch, then synchronously when few remain', async () => {
  const texts = sentimentTexts(25).map((t, i) => (i === 3 ? `${t} (refund)` : t));
  const { projectId, engineId } = await setup(25, 'openai', texts);
  const firstBatch = openai.batches.created + 1;
  // Batch 1 expires with 60% answered; in it, the "refund" item errors. Batch 2 answers all but
  // the "refund" item again, which (one left ≤ 2) is then asked synchronously.
  openai.batches.setOptions({
    outcome: (n) => (n === firstBatch ? { expire: true, answeredFraction: 0.6 } : 'complete'),
    requestFault: (r) => (r.lastUserText.includes('refund') ? { status: 500 } : null),
  });
  const syncCalls = openai.requestCount;
  const started = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: engineId, mode: 'batch' });
  const jobId = started.body.job_id;
  const done = await ended(jobId);
  expect(done).toMatchObject({ status: 'completed', total: 25, processed: 25, succeeded: 25, failed: 0 });
  const annotations = await annotationsOf(jobId);
  expect(new Set(annotations.map((a) => a.item_id)).size).toBe(25);
  expect(annotations).toHaveLength(25);
  const rows = await stack.tdb.db('provider_batches').where({ job_id: jobId }).orderBy('attempt');
  expect(rows.map((r) => [r.attempt, r.status, r.request_count])).toEqual([
    [0, 'expired', 25],
    [1, 'completed', 11], // the 10 expired requests and the one that errored
  ]);
  expect(openai.requestCount - syncCalls).toBe(1); // the refund item, synchronously
  const ledger = await stack.tdb.db('llm_usage').where({ job_id: jobId });
  expect(ledger.filter((r) => r.outcome === 'error')).toHaveLength(12); // 10 expired, the refund item twice
});

test('items that keep failing end failed with their reasons after the last retry', async () => {
  const texts = sentimentTexts(10).map((t, i) => (i < 4 ? `${t} (refund)` : t));
  const { projectId, engineId } = await setup(10, 'anthropic', texts);
  anthropic.batches.setOptions({ requestFault: (r) => (r.lastUserText.includes('refund') ? { status: 500 } : null) });
  // Four failing items (more than the sync threshold): two retries in new batches, then failed.
  const started = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: engineId, mode: 'batch' });
  const done = await ended(started.body.job_id);
  expect(done).toMatchObject({ status: 'completed', total: 10, processed: 10, succeeded: 6, failed: 4 });
  const failed = (await annotationsOf(started.body.job_id)).filter((a) => a.status === 'failed');
  expect(failed).toHaveLength(4);
  for (const a of failed) expect(a.error).toMatch(/attempt 3: batch_request_failed: api_error/);
  const rows = await stack.tdb.db('provider_batches').where({ job_id: started.body.job_id });
  expect(rows.map((r) => r.request_count).sort()).toEqual([10, 4, 4].sort());
});

test('cancel cancels the running provider batch, then the job ends cancelled', async () => {
  const { projectId, engineId } = await setup(20, 'openai');
  openai.batches.setOptions({ processingMs: 60_000 });
  const cancels = openai.batches.cancelCalls;
  const started = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: engineId, mode: 'batch' });
  const jobId = started.body.job_id;
  const waiting = await waitFor(() => progressOf(jobId), (p) => p.provider_batches?.[0]?.status === 'in_progress', 30_000, 'the provider batch to run');
  expect((await call('POST', `/annotation/pre-annotate/${jobId}/cancel`)).status).toBe(202);
  await ended(jobId);
  // The job is cancelled at once; its workflow then cancels the provider batch and collects it.
  const done = await waitFor(() => progressOf(jobId), (p) => p.provider_batches?.[0]?.collected, 30_000, 'the cancelled batch collected');
  expect(done.status).toBe('cancelled');
  expect(openai.batches.cancelCalls - cancels).toBe(1);
  expect(openai.batches.get(waiting.provider_batches[0].id)!.endReason).toBe('cancelled');
  expect(done.provider_batches[0]).toMatchObject({ status: 'cancelled', collected: true });
  // Nothing answered, nothing paid: the requests' ledger rows are settled at 0.
  const rows = await expectLedgerAtBatchPrice(jobId, engineId, 0);
  expect(rows).toHaveLength(20);
  expect(await annotationsOf(jobId)).toHaveLength(0);
});

test('a budget stops submission: no provider batch whose upper-bound cost does not fit, until the budget is raised', async () => {
  const { projectId, engineId } = await setup(30, 'openai');
  const created = openai.batches.created;
  const started = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: engineId, mode: 'batch', max_cost_usd: '0.000001' });
  const jobId = started.body.job_id;
  const paused = await waitFor(() => progressOf(jobId), (p) => p.status === 'paused', 30_000, 'the budget pause');
  expect(paused.pause_reason).toBe('budget');
  await new Promise((r) => setTimeout(r, 500));
  expect(openai.batches.created - created).toBe(0);
  expect(await stack.tdb.db('provider_batches').where({ job_id: jobId })).toHaveLength(0);
  expect((await call('POST', `/annotation/pre-annotate/${jobId}/budget`, { max_cost_usd: '100' })).status).toBe(202);
  const done = await ended(jobId);
  expect(done).toMatchObject({ status: 'completed', succeeded: 30 });
  expect(openai.batches.created - created).toBe(2);
  await expectLedgerAtBatchPrice(jobId, engineId, 30);
});

test('a provider that refuses to create the batch: the chunk is annotated synchronously and the abandoned batch costs nothing', async () => {
  const { projectId, engineId } = await setup(12, 'openai');
  openai.setBatchCreateFault(400);
  try {
    const syncCalls = openai.requestCount;
    const started = await call('POST', '/annotation/pre-annotate', { project_id: projectId, engine_id: engineId, mode: 'batch' });
    const done = await ended(started.body.job_id);
    expect(done).toMatchObject({ status: 'completed', processed: 12, succeeded: 12 });
    expect(openai.requestCount - syncCalls).toBe(12);
    const rows = await stack.tdb.db('provider_batches').where({ job_id: started.body.job_id });
    expect(rows.map((r) => r.status)).toEqual(['abandoned']);
    // The batch's write-ahead rows settled at 0, the sync calls at the sync price.
    const ledger = await stack.tdb.db('llm_usage').where({ job_id: started.body.job_id });
    expect(ledger.filter((r) => r.outcome === 'error').every((r) => Number(r.cost_usd) === 0)).toBe(true);
    expect(ledger.filter((r) => r.outcome === 'ok')).toHaveLength(12);
    expect(ledger.every((r) => r.state === 'settled')).toBe(true);
  } finally {
    openai.setBatchCreateFault(null);
  }
});

test('a project whose routing says default_mode batch pre-annotates in batch mode when the request gives no mode', async () => {
  const { projectId, engineId } = await setup(5, 'anthropic');
  const routed = await call('PUT', '/annotation/routing/config', { project_id: projectId, default_engine_id: engineId, default_mode: 'batch' });
  expect(routed.status).toBe(200);
  expect(routed.body.default_mode).toBe('batch');
  const created = anthropic.batches.created;
  const started = await call('POST', '/annotation/pre-annotate', { project_id: projectId });
  const done = await ended(started.body.job_id);
  expect(done).toMatchObject({ status: 'completed', mode: 'batch', succeeded: 5 });
  expect(anthropic.batches.created - created).toBe(1);
  // An explicit mode wins over the project's default.
  expect((await call('POST', '/annotation/pre-annotate', { project_id: projectId, mode: 'sync' })).status).toBe(202);
});
