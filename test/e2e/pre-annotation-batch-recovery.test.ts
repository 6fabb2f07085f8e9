import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestApi, tokenFor, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { sentimentTexts } from '../helpers/seed';
import { startTestTemporal } from '../helpers/temporal';
import { waitFor } from '../helpers/wait';
import { spawnWorkerProcess, stopProcess } from '../helpers/worker-process';

/**
 * A worker process killed (SIGKILL) while a provider batch is pending: a new worker resumes the
 * job from its history and the provider_batches row, and nothing is submitted twice — the fake
 * provider counts the batches created.
 */
jest.setTimeout(180_000);

let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let fake: FakeOpenAI;
let api: TestApi;

const TENANT = 'acme';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const SETTINGS = { PROVIDER_BATCH_SIZE: '20', PROVIDER_BATCH_POLL_INITIAL_MS: '100', PROVIDER_BATCH_POLL_MAX_MS: '300', PROVIDER_BATCHES_IN_FLIGHT: '2' };

beforeAll(async () => {
  [tdb, env, fake] = await Promise.all([createTestDatabase(), startTestTemporal(), startFakeOpenAI({ batch: { processingMs: 4000 } })]);
  api = await startTestApi({ db: tdb.db, temporalClient: env.client, env: SETTINGS });
});
afterAll(async () => {
  await api?.close();
  await Promise.all([env?.teardown(), tdb?.drop(), fake?.close()]);
});

async function call(method: string, url: string, json?: unknown) {
  const res = await api.request(`/api/v1${url}`, { method, token: manager, json });
  return { status: res.status, body: (await res.json()) as any };
}

const worker = () => spawnWorkerProcess({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: tdb.url, LOG_LEVEL: 'error', ...SETTINGS });

test('a worker killed while its provider batches are pending: the job resumes on a new worker and creates no second batch', async () => {
  const project = await call('POST', '/projects', { name: 'Recover', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } });
  await call('POST', `/projects/${project.body.id}/items`, { items: sentimentTexts(40).map((text) => ({ data: { text } })) });
  const engine = await call('POST', '/annotation/engines', { name: 'fake', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl, price: { input_per_1k: '0.002', output_per_1k: '0.004' } });
  const started = await call('POST', '/annotation/pre-annotate', { project_id: project.body.id, engine_id: engine.body.id, mode: 'batch' });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id;

  let first = worker();
  try {
    // Both chunks' provider batches submitted and stored, still processing at the provider.
    await waitFor(() => tdb.db('provider_batches').where({ job_id: jobId }).whereNotNull('provider_batch_id'), (rows) => rows.length === 2, 60_000, 'two provider batches stored');
    expect(fake.batches.created).toBe(2);
    await stopProcess(first, 'SIGKILL');
  } finally {
    await stopProcess(first, 'SIGKILL');
  }
  expect(fake.batches.batches.every((b) => b.state === 'in_progress')).toBe(true);

  const second = worker();
  try {
    const done = await waitFor(async () => (await call('GET', `/annotation/pre-annotate/${jobId}/progress`)).body, (p) => p.status === 'completed', 90_000, 'the job to complete');
    expect(done).toMatchObject({ total: 40, processed: 40, succeeded: 40, failed: 0 });
  } finally {
    await stopProcess(second);
  }
  expect(fake.batches.created).toBe(2); // nothing submitted twice
  expect(fake.requestCount).toBe(0); // and nothing asked synchronously
  const annotations = await tdb.db('annotations').where({ job_id: jobId }).select('item_id');
  expect(annotations).toHaveLength(40);
  expect(new Set(annotations.map((a) => a.item_id)).size).toBe(40);
  const ledger = await tdb.db('llm_usage').where({ job_id: jobId }).select('outcome', 'state');
  expect(ledger).toHaveLength(40);
  expect(ledger.every((r) => r.state === 'settled' && r.outcome === 'ok')).toBe(true);
});
