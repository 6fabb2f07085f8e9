import type { ChildProcess } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { canonicalDecimal } from '../../src/annotation/budget';
import { loadConfig } from '../../src/config';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { sumDecimals } from '../../src/llm/cost';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { startTestTemporal } from '../helpers/temporal';
import { spawnWorkerProcess, stopProcess } from '../helpers/worker-process';

/**
 * The ledger misses no paid call, with the world broken on purpose: worker processes killed with
 * SIGKILL mid-job, and PostgreSQL taken away from the worker for 5 s (through a TCP proxy; the
 * shared server itself is never touched). Every call the provider received has its ledger row,
 * and the job's cost_usd is exactly the sum of its rows.
 */
jest.setTimeout(300_000);

let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let fake: FakeOpenAI;

beforeAll(async () => {
  [tdb, env, fake] = await Promise.all([createTestDatabase(), startTestTemporal(), startFakeOpenAI({ latencyMs: 40 })]);
});
afterAll(async () => {
  await Promise.all([env?.teardown(), tdb?.drop(), fake?.close()]);
});

const WORKER_ENV = {
  LLM_CONCURRENCY: '8',
  ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '2',
  // Rows a killed worker left in flight are swept as unknown 0.5 s after their call's timeout.
  LLM_LEDGER_SETTLE_MARGIN_MS: '500',
  LLM_LEDGER_SWEEP_INTERVAL_MS: '500',
};

function startWorker(extra: Record<string, string>): ChildProcess {
  return spawnWorkerProcess({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: tdb.url, ...WORKER_ENV, ...extra });
}

async function startJob(n: number) {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(n));
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({
    id: engineId, tenant_id: tenantId, name: 'fake', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl,
    price_input_per_1k: '0.0015', price_output_per_1k: '0.002', params: JSON.stringify({ max_tokens: 40 }),
  });
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  return startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'u1', project: { id: projectId, routing: {} }, engineId, batchSize: 20, concurrency: 8 });
}

async function until(what: string, ms: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const inFlightRows = async (jobId: string) => Number((await tdb.db('llm_usage').where({ job_id: jobId, state: 'in_flight' }).count({ n: '*' }))[0].n);

/** The job's ledger against the provider's own record of the calls it received. */
async function reconcile(jobId: string) {
  const rows: { id: string; state: string; cached: boolean; cost_usd: string }[] = await tdb.db('llm_usage').where({ job_id: jobId }).select('id', 'state', 'cached', 'cost_usd');
  const received = fake.requests.map((r) => String(r.headers['x-client-request-id'] ?? '').replace('anno-usage-', ''));
  const providerRows = rows.filter((r) => !r.cached);
  const rowIds = new Set(providerRows.map((r) => String(r.id)));
  const receivedIds = new Set(received);
  const job = await tdb.db('jobs').where({ id: jobId }).first('cost_usd');
  const figures = {
    providerCallsReceived: fake.requestCount,
    providerCallsAnswered: fake.answeredCount,
    ledgerRows: rows.length,
    ledgerProviderRows: providerRows.length,
    cacheHitRows: rows.length - providerRows.length,
    unknownRows: rows.filter((r) => r.state === 'unknown').length,
    receivedWithoutRow: received.filter((id) => !rowIds.has(id)).length,
    rowsNeverReceived: providerRows.filter((r) => !receivedIds.has(String(r.id))),
    inFlight: rows.filter((r) => r.state === 'in_flight').length,
    jobCostUsd: canonicalDecimal(job.cost_usd),
    sumOfRowsUsd: canonicalDecimal(sumDecimals(rows.map((r) => r.cost_usd))),
  };
  return { ...figures, duplicateCallIds: received.length - receivedIds.size };
}

test('SIGKILL of the worker 3 times mid-job: every call the provider received is in the ledger, cost_usd = sum of rows', async () => {
  fake.resetStats();
  const N = 600;
  const job = await startJob(N);
  const timeout = { LLM_TIMEOUT_MS: '2000' };
  const killedInFlight: number[] = [];
  for (let kill = 1; kill <= 3; kill++) {
    const worker = startWorker(timeout);
    const base = fake.requestCount;
    // Kill once this worker has made real progress, at a moment the provider is working on its calls.
    await until(`worker ${kill} to make calls`, 120_000, () => fake.requestCount >= base + N / 8 && fake.inFlight > 0);
    // The calls at the kill are held (1 s, under LLM_TIMEOUT_MS): a 40 ms answer could still be
    // written out before a busy machine has torn the killed process's sockets down.
    fake.setLatency(1000);
    const held = fake.requestCount;
    await until(`worker ${kill} to make a held call`, 60_000, () => fake.requestCount > held);
    killedInFlight.push(fake.inFlight);
    await stopProcess(worker, 'SIGKILL');
    fake.setLatency(40);
  }
  const last = startWorker(timeout);
  try {
    const result = await env.client.workflow.getHandle(job.workflowId).result();
    expect(result.status).toBe('completed');
    expect(result.counters.processed).toBe(N);
    // The last worker sweeps what the killed ones left in flight, once their deadlines pass.
    await until('the sweep of rows left in flight', 60_000, async () => (await inFlightRows(job.jobId)) === 0);
  } finally {
    await stopProcess(last);
  }
  const r = await reconcile(job.jobId);
  console.log(`SIGKILL ×3 (in flight at the provider at each kill: ${killedInFlight.join(', ')}):`, { ...r, rowsNeverReceived: r.rowsNeverReceived.length });
  expect(r.providerCallsAnswered).toBeLessThan(r.providerCallsReceived); // some answers never got back
  expect(r.receivedWithoutRow).toBe(0); // no paid call is missing from the ledger
  expect(r.duplicateCallIds).toBe(0);
  expect(r.unknownRows).toBeGreaterThanOrEqual(3); // the calls cut by each kill, settled by the sweep
  // A row whose call never reached the provider (the kill fell between the row and the request)
  // can only be an unknown one, counted at its upper bound: the ledger errs on the paid side.
  expect(r.rowsNeverReceived.every((row) => row.state === 'unknown')).toBe(true);
  expect(r.ledgerProviderRows).toBe(r.providerCallsReceived + r.rowsNeverReceived.length);
  expect(r.rowsNeverReceived.length).toBeLessThanOrEqual(3 * Number(WORKER_ENV.LLM_CONCURRENCY));
  expect(r.inFlight).toBe(0);
  expect(Number(r.jobCostUsd)).toBeGreaterThan(0);
  expect(r.jobCostUsd).toBe(r.sumOfRowsUsd);
});

test('PostgreSQL cut from the worker for 5 s mid-job: the job completes, ledger rows = provider calls, cost_usd = sum of rows', async () => {
  fake.resetStats();
  const N = 400;
  const job = await startJob(N);
  const target = new URL(tdb.url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  // Calls may wait out the outage for their ledger row (up to their 8 s timeout).
  const worker = spawnWorkerProcess({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: proxy.via(tdb.url), ...WORKER_ENV, LLM_TIMEOUT_MS: '8000', LOG_LEVEL: 'fatal' });
  let callsDuringOutage = 0;
  try {
    await until('the worker to make calls', 120_000, () => fake.requestCount >= N / 3);
    const before = fake.requestCount;
    proxy.cut();
    await new Promise((r) => setTimeout(r, 5000));
    callsDuringOutage = fake.requestCount - before;
    proxy.restore();
    const result = await env.client.workflow.getHandle(job.workflowId).result();
    expect(result.status).toBe('completed');
    expect(result.counters.processed).toBe(N);
    await until('every row settled', 60_000, async () => (await inFlightRows(job.jobId)) === 0);
  } finally {
    await stopProcess(worker);
    await proxy.close();
  }
  const r = await reconcile(job.jobId);
  console.log('PostgreSQL outage 5 s:', { ...r, rowsNeverReceived: r.rowsNeverReceived.length, callsDuringOutage, connectionsRefused: proxy.refused });
  expect(proxy.refused).toBeGreaterThan(0); // the worker did try to reach PostgreSQL during the cut
  expect(r.receivedWithoutRow).toBe(0);
  expect(r.rowsNeverReceived).toHaveLength(0);
  expect(r.ledgerProviderRows).toBe(r.providerCallsReceived);
  expect(r.inFlight).toBe(0);
  expect(Number(r.jobCostUsd)).toBeGreaterThan(0);
  expect(r.jobCostUsd).toBe(r.sumOfRowsUsd);
});
