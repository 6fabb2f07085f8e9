import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { progressQuery } from '../../workflows/pre-annotation';
import { apiClient, freePort, startDevProcess, type DevProcess } from '../helpers/dev-process';
import { sentimentTexts } from '../helpers/seed';
import { saveSuiteHistories } from '../helpers/suite-histories';
import { waitFor } from '../helpers/wait';

/**
 * `npm start` stopped in the middle of jobs, as users do: SIGINT (Ctrl-C) and SIGKILL (a
 * crash, an OOM kill), three times, on one DATA_DIR (embedded PGlite and the dev server's
 * SQLite history). Every job must complete with every item annotated exactly once, and its
 * workflow must still answer the progress query once closed (which replays its history).
 */
jest.setTimeout(600_000);

const N = 3000;
let dataDir: string;
let dev: DevProcess | undefined;
let ports: { port: number; uiPort: number };

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anno-dev-restart-'));
  ports = { port: await freePort(), uiPort: await freePort() };
});
afterAll(async () => {
  await dev?.stop('SIGINT');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const start = async () => (dev = await startDevProcess({ dataDir, ...ports, env: { ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: '3' } }));
const call = () => apiClient(dev!.baseUrl, { tenantId: 'restart', sub: 'operator', roles: ['admin'] });

/** The job's progress; a moment when the API does not answer (it is starting) reads as unknown. */
async function progressOf(jobId: string): Promise<{ status: string; processed: number; total: number }> {
  const r = await call()('GET', `/annotation/pre-annotate/${jobId}/progress`).catch(() => ({ status: 0, body: undefined }));
  return r.status === 200 ? r.body : { status: `unanswered (${r.status})`, processed: -1, total: 0 };
}

async function everyResult(jobId: string): Promise<string[]> {
  const ids: string[] = [];
  for (let page = 1; ; page++) {
    const r = await call()('GET', `/annotation/pre-annotate/${jobId}/results?page=${page}&page_size=500`);
    expect(r.status).toBe(200);
    ids.push(...r.body.items.map((i: { item_id: string }) => i.item_id));
    if (ids.length >= r.body.total || r.body.items.length === 0) return ids;
  }
}

test('anno dev stopped three times mid-job (SIGINT, SIGKILL, SIGINT): every item exactly once, closed runs still answer queries', async () => {
  await start();
  const project = await call()('POST', '/projects', { name: 'restarts', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } });
  expect(project.status).toBe(201);
  const projectId = project.body.id;
  const imported = await call()('POST', `/projects/${projectId}/items`, { items: sentimentTexts(N).map((text) => ({ data: { text } })) });
  expect(imported.status).toBe(201);
  const itemIds: string[] = imported.body.item_ids;
  // Small batches one at a time, and large batches with high concurrency, at once.
  const small = await call()('POST', '/annotation/pre-annotate', { project_id: projectId, item_ids: itemIds.slice(0, N / 2), batch_size: 5, concurrency: 1 });
  const large = await call()('POST', '/annotation/pre-annotate', { project_id: projectId, item_ids: itemIds.slice(N / 2), batch_size: 25, concurrency: 64 });
  expect([small.status, large.status]).toEqual([202, 202]);
  const jobs = [small.body.job_id as string, large.body.job_id as string];

  const kills: { signal: NodeJS.Signals; processed: number }[] = [];
  for (const [signal, atLeast] of [['SIGINT', 150], ['SIGKILL', 500], ['SIGINT', 900]] as const) {
    const { processed } = await waitFor(() => progressOf(jobs[0]), (p) => p.processed >= atLeast, 240_000, `${atLeast} items of the small-batch job`);
    await dev!.stop(signal);
    kills.push({ signal, processed });
    await start();
  }
  expect(kills.every((k, i) => i === 0 || k.processed >= kills[i - 1].processed)).toBe(true);

  for (const jobId of jobs) {
    const done = await waitFor(() => progressOf(jobId), (p) => {
      if (p.status === 'failed' || p.status === 'stalled') throw new Error(`job ${jobId} is ${p.status}: ${dev?.output().slice(-3000)}`);
      return p.status === 'completed';
    }, 240_000, `job ${jobId} to complete`);
    expect(done.processed).toBe(N / 2);
    const ids = await everyResult(jobId);
    expect(ids.length).toBe(N / 2);
    expect(new Set(ids).size).toBe(N / 2);
  }

  // The closed runs still answer the progress query: their histories replay on this code.
  const address = /Temporal\s+(\S+:\d+)/.exec(dev!.output())?.[1];
  expect(address).toBeDefined();
  const connection = await Connection.connect({ address: address! });
  try {
    const client = new Client({ connection });
    for (const jobId of jobs) {
      const job = await call()('GET', `/annotation/jobs/${jobId}`);
      const progress = await client.workflow.getHandle(job.body.workflow_id).query(progressQuery);
      expect(progress.status).toBe('completed');
      expect(progress.counters.processed).toBe(N / 2);
    }
    await saveSuiteHistories(client, 'e2e/dev-restart'); // replayed with the suite's (test/replay-last)
  } finally {
    await connection.close();
  }
  console.log(`anno dev restart test: kills ${JSON.stringify(kills)}; 2 jobs × ${N / 2} items, each exactly once`);
});
