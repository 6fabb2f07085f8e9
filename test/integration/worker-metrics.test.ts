import crypto from 'node:crypto';
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
 * The worker's own /metrics (WORKER_METRICS_PORT) behind METRICS_TOKEN, as `anno worker` runs in
 * production: a separate process, a real job through a distinctively named engine.
 */
jest.setTimeout(120_000);

let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let fake: FakeOpenAI;
const METRICS_TOKEN = `worker-scrape-${crypto.randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  [tdb, env, fake] = await Promise.all([createTestDatabase(), startTestTemporal(), startFakeOpenAI()]);
});
afterAll(async () => {
  await Promise.all([env?.teardown(), tdb?.drop(), fake?.close()]);
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

test('the worker answers 401 without METRICS_TOKEN, and its LLM series name engine ids, not names', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(6));
  const engineId = crypto.randomUUID();
  const secretName = `zebra-worker-${crypto.randomBytes(4).toString('hex')}`;
  const secretModel = `okapi-${crypto.randomBytes(4).toString('hex')}`;
  await tdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: secretName, provider: 'openai', model: secretModel, base_url: fake.baseUrl });

  const port = await freePort();
  const worker = spawnWorkerProcess({
    TEMPORAL_ADDRESS: env.address,
    DATABASE_URL: tdb.url,
    WORKER_METRICS_PORT: String(port),
    HOST: '127.0.0.1',
    METRICS_TOKEN,
  });
  const url = `http://127.0.0.1:${port}/metrics`;
  try {
    const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
    const job = await startPreAnnotation(tdb.db, env.client, config, {
      tenantId, userId: 'u1', project: { id: projectId, routing: {} }, engineId, batchSize: 3, concurrency: 2,
    });
    const result = await env.client.workflow.getHandle(job.workflowId).result();
    expect(result.status).toBe('completed');
    expect(result.counters.processed).toBe(6);
    // The metrics server listens before the workers poll, so it is up once the job has run.

    for (const authorization of [undefined, 'Bearer not-the-token-0123456789', `Bearer ${METRICS_TOKEN.slice(1)}`, METRICS_TOKEN]) {
      const res = await fetch(url, { headers: authorization ? { Authorization: authorization } : {} });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      const body = (await res.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ code: 'UNAUTHORIZED', details: [], correlation_id: expect.any(String), timestamp: expect.any(String) });
    }

    const ok = await fetch(url, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    const text = await ok.text();
    expect(text).toMatch(new RegExp(`anno_llm_calls_total\\{engine_id="${engineId}",provider="openai",outcome="(ok|cached)"\\} [1-9]`));
    expect(text).toMatch(/anno_jobs_completed_total\{type="pre_annotation",status="completed"\} 1/);
    for (const tenantText of [secretName, secretModel, tenantId, projectId]) expect(text).not.toContain(tenantText);
  } finally {
    await stopProcess(worker);
  }
});

test('TEMPORAL_METRICS_BIND: the worker exports the Temporal SDK core metrics in Prometheus format', async () => {
  const { tenantId, projectId } = await seedProject(tdb.db);
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(2));
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: 'sdk-metrics', provider: 'openai', model: 'm', base_url: fake.baseUrl });

  const port = await freePort();
  const worker = spawnWorkerProcess({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: tdb.url, TEMPORAL_METRICS_BIND: `127.0.0.1:${port}` });
  try {
    const config = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
    const job = await startPreAnnotation(tdb.db, env.client, config, {
      tenantId, userId: 'u1', project: { id: projectId, routing: {} }, engineId, batchSize: 2, concurrency: 1,
    });
    expect((await env.client.workflow.getHandle(job.workflowId).result()).status).toBe('completed');
    // The core exporter is bound when the runtime is installed, before the workers poll.

    // The worker counts a completed workflow after it has reported the task, which can be just
    // after the client sees the result: scrape until the series is there (or 10 s have passed).
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      return res.text();
    };
    let text = await scrape();
    for (const until = Date.now() + 10_000; !/^temporal_workflow_completed\{[^}]*workflow_type="preAnnotation"/m.test(text) && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 250));
      text = await scrape();
    }
    // Task slots per worker kind, pollers, and how long tasks waited on both task queues.
    expect(text).toMatch(/^temporal_worker_task_slots_available\{[^}]*worker_type="WorkflowWorker"[^}]*\} \d+/m);
    expect(text).toMatch(/^temporal_worker_task_slots_available\{[^}]*worker_type="ActivityWorker"[^}]*\} \d+/m);
    expect(text).toMatch(new RegExp(`^temporal_workflow_task_schedule_to_start_latency_count\\{[^}]*task_queue="${config.TEMPORAL_TASK_QUEUE}"[^}]*\\} [1-9]`, 'm'));
    expect(text).toMatch(new RegExp(`^temporal_activity_schedule_to_start_latency_count\\{[^}]*task_queue="${config.TEMPORAL_LLM_TASK_QUEUE}"[^}]*\\} [1-9]`, 'm'));
    expect(text).toMatch(/^temporal_workflow_completed\{[^}]*workflow_type="preAnnotation"[^}]*\} [1-9]/m);
    for (const tenantText of [tenantId, projectId, engineId]) expect(text).not.toContain(tenantText);
  } finally {
    await stopProcess(worker);
  }
});

