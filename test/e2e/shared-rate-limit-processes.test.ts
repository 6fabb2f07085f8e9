import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import { loadConfig } from '../../src/config';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { cancelSignal } from '../../workflows/pre-annotation';
import { TEST_JWT_SECRET, tokenFor } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { freePort } from '../helpers/dev-process';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startTestTemporal } from '../helpers/temporal';
import { ROOT, spawnWorkerProcess, stopProcess, testBundleEnv } from '../helpers/worker-process';

/**
 * An engine's rate limit is its API key's, so it holds for every process together: three worker
 * processes (a pre-annotation job) and two API replicas (live suggestions) call one engine with
 * `rate_limit.rpm` R against a fake provider that enforces R itself as a token bucket (a full
 * minute's worth, refilled continuously: how providers describe their limits) and answers 429
 * beyond it. With the buckets in PostgreSQL the provider sees next to no 429s, and the calls it
 * accepts come to the limit.
 */
const RPM = 300;
const WINDOW_MS = 14_000;

let tdb: TestDatabase;
let temporal: TestWorkflowEnvironment;
let fake: FakeOpenAI;
const children: ChildProcess[] = [];

/** The provider's own limit: a bucket of RPM requests refilled at RPM a minute. */
function providerBucket() {
  let tokens = RPM;
  let at = Date.now();
  const stats = { accepted: 0, rejected: 0, first: 0, last: 0 };
  return {
    stats,
    take(): boolean {
      const now = Date.now();
      tokens = Math.min(RPM, tokens + ((now - at) * RPM) / 60_000);
      at = now;
      stats.first ||= now;
      stats.last = now;
      if (tokens >= 1) {
        tokens -= 1;
        stats.accepted++;
        return true;
      }
      stats.rejected++;
      return false;
    },
  };
}

beforeAll(async () => {
  [tdb, temporal] = await Promise.all([createTestDatabase('anno_shared_rpm'), startTestTemporal()]);
});
afterAll(async () => {
  await Promise.all(children.map((c) => stopProcess(c)));
  await fake?.close();
  await Promise.all([temporal?.teardown(), tdb?.drop()]);
});

function spawnApiProcess(port: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'api'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...testBundleEnv(),
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: tdb.url,
      TEMPORAL_ADDRESS: temporal.address,
      JWT_SECRET: TEST_JWT_SECRET,
      TEMPORAL_METRICS_BIND: 'off',
      RATE_LIMIT_PER_MINUTE: '100000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function waitHealthy(url: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('3 workers and 2 API replicas keep one engine under its rpm together: ~0 provider 429s, throughput at the limit', async () => {
  const bucket = providerBucket();
  fake = await startFakeOpenAI({ latencyMs: 20, fault: () => (bucket.take() ? null : { status: 429, retryAfter: 1 }) });
  const { tenantId, projectId } = await seedProject(tdb.db);
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({
    id: engineId, tenant_id: tenantId, name: 'limited', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl,
    params: JSON.stringify({ cache: false }), rate_limit: JSON.stringify({ rpm: RPM }),
  });
  await seedItems(tdb.db, tenantId, projectId, sentimentTexts(3000));

  for (let i = 0; i < 3; i++) children.push(spawnWorkerProcess({ TEMPORAL_ADDRESS: temporal.address, DATABASE_URL: tdb.url, LLM_CONCURRENCY: '16' }));
  const ports = [await freePort(), await freePort()];
  for (const port of ports) children.push(spawnApiProcess(port));
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  await Promise.all(urls.map((u) => waitHealthy(u)));

  const config = loadConfig({ ...process.env, DATABASE_URL: tdb.url, TEMPORAL_ADDRESS: temporal.address });
  const job = await startPreAnnotation(tdb.db, temporal.client, config, { tenantId, userId: 'test', project: { id: projectId, routing: {} }, engineId, batchSize: 20, concurrency: 32 });
  const token = tokenFor({ tenantId, sub: 'mia', roles: ['manager'] });
  const stopAt = Date.now() + WINDOW_MS;
  let suggestions = 0;
  let suggestionErrors = 0;
  // Live suggestions on both replicas, four at a time each, every text new (no cache).
  await Promise.all(
    urls.flatMap((url, r) =>
      Array.from({ length: 4 }, async (_, k) => {
        for (let n = 0; Date.now() < stopAt; n++) {
          const res = await fetch(`${url}/api/v1/annotation/suggestion`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ project_id: projectId, engine_id: engineId, data: { text: `live ${r}-${k}-${n} positive` } }),
            signal: AbortSignal.timeout(30_000),
          }).catch(() => null);
          if (res?.ok) suggestions++;
          else suggestionErrors++;
          await res?.arrayBuffer();
        }
      }),
    ),
  );
  const window = { ...bucket.stats };
  await temporal.client.workflow.getHandle(job.workflowId).signal(cancelSignal);

  const seconds = (window.last - window.first) / 1000;
  const allowed = RPM + (RPM / 60) * seconds;
  const [{ n: annotated }] = await tdb.db('annotations').where({ job_id: job.jobId }).count({ n: '*' });
  console.log(
    `shared rpm ${RPM}: provider accepted ${window.accepted} of ${allowed.toFixed(0)} allowed in ${seconds.toFixed(1)} s ` +
      `(${((100 * window.accepted) / allowed).toFixed(1)}%), answered 429 ${window.rejected} times; ` +
      `${suggestions} suggestions (${suggestionErrors} not answered), ${annotated} job annotations`,
  );
  expect(window.rejected).toBeLessThanOrEqual(Math.ceil(0.02 * window.accepted));
  expect(window.accepted).toBeGreaterThanOrEqual(0.9 * allowed);
  expect(window.accepted).toBeLessThanOrEqual(allowed + 1);
  expect(suggestions).toBeGreaterThan(0);
  expect(Number(annotated)).toBeGreaterThan(0);
}, 120_000);
