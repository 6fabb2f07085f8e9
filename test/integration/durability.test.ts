import net from 'node:net';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../../src/config';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import { startTestTemporal } from '../helpers/temporal';
import { spawnWorkerProcess, stopProcess } from '../helpers/worker-process';

/**
 * Durable means durable: a worker process killed with SIGKILL in the middle of a job, a new
 * one started, and the job completes with every item annotated exactly once.
 */
jest.setTimeout(180_000);

let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let fake: FakeOpenAI;

beforeAll(async () => {
  [tdb, env, fake] = await Promise.all([createTestDatabase(), startTestTemporal(), startFakeOpenAI({ latencyMs: 25 })]);
});
afterAll(async () => {
  await Promise.all([env?.teardown(), tdb?.drop(), fake?.close()]);
});

function startWorkerProcess(extra: Record<string, string> = {}) {
  return spawnWorkerProcess({
    TEMPORAL_ADDRESS: env.address,
    DATABASE_URL: tdb.url,
    LLM_CONCURRENCY: '8',
    ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '2',
    ...extra,
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function annotated(jobId: string): Promise<number> {
  const [{ count }] = await tdb.db('annotations').where({ job_id: jobId }).count({ count: '*' });
  return Number(count);
}

test('a worker killed with SIGKILL mid-job: the job completes, every item annotated exactly once', async () => {
  const N = 400;
  const { tenantId, projectId } = await seedProject(tdb.db);
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(N));
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: 'fake', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl });

  const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  const job = await startPreAnnotation(tdb.db, env.client, config, {
    tenantId, userId: 'u1', project: { id: projectId, routing: {} }, engineId, batchSize: 20, concurrency: 8,
  });

  const first = startWorkerProcess();
  // Kill it once real progress is on disk but well before the end.
  const deadline = Date.now() + 90_000;
  while ((await annotated(job.jobId)) < N / 4) {
    if (Date.now() > deadline) throw new Error('the first worker made no progress');
    await new Promise((r) => setTimeout(r, 50));
  }
  await stopProcess(first, 'SIGKILL');
  const atKill = await annotated(job.jobId);
  expect(atKill).toBeLessThan(N);

  const metricsPort = await freePort();
  const second = startWorkerProcess({ WORKER_METRICS_PORT: String(metricsPort), HOST: '127.0.0.1' });
  try {
    const result = await env.client.workflow.getHandle(job.workflowId).result();
    expect(result.status).toBe('completed');
    expect(result.counters.processed).toBe(N);
    // The worker's own Prometheus endpoint counted the calls it made.
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    // Labelled by engine id and provider, never by the tenant-chosen name (issue 10).
    expect(text).toMatch(new RegExp(`anno_llm_calls_total\\{engine_id="${engineId}",provider="openai",outcome="(ok|cached)"\\} \\d+`));
  } finally {
    await stopProcess(second);
  }
  const rows = await tdb.db('annotations').where({ job_id: job.jobId }).select('item_id');
  expect(rows).toHaveLength(N);
  expect(new Set(rows.map((r) => r.item_id)).size).toBe(N);
  const jobRow = await tdb.db('jobs').where({ id: job.jobId }).first();
  expect(jobRow.status).toBe('completed');
  expect(jobRow.progress.processed).toBe(N);
});
