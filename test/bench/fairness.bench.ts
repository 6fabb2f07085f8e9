/**
 * Tenant fairness benchmark: tenant B's small pre-annotation job alone, then again while tenant
 * A's large job runs on the same worker (one worker process, one Temporal dev server, one
 * PostgreSQL, the fake OpenAI server with latency L). The worker shares its LLM slots round robin
 * between tenants (`FairSemaphore`), so B's job should take about twice as long as alone, not wait
 * behind A's queue. Prints both times and their ratio; asserts nothing.
 *
 *   npm run bench:fairness -- --big 20000 --small 200 --latency 20 --concurrency 32
 */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { resolveTemporalCli } from '../../src/temporal/cli-binary';
import { writeWorkflowBundle } from '../../src/temporal/worker';
import { createTestDatabase } from '../helpers/db';
import { startFakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import { startTestTemporal } from '../helpers/temporal';
import { spawnWorkerProcess, stopProcess } from '../helpers/worker-process';

const { values } = parseArgs({
  options: {
    big: { type: 'string', default: '20000' },
    small: { type: 'string', default: '200' },
    latency: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '32' },
  },
});
const BIG = Number(values.big);
const SMALL = Number(values.small);
const L = Number(values.latency);
const C = Number(values.concurrency);
const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function main() {
  process.env.TEMPORAL_CLI_PATH ??= resolveTemporalCli({ log: console.log });
  const [tdb, env, fake] = await Promise.all([createTestDatabase('anno_bench'), startTestTemporal(), startFakeOpenAI({ latencyMs: L })]);
  try {
    const a = await seedProject(tdb.db, { tenantId: `a-${crypto.randomUUID().slice(0, 6)}` });
    const b = await seedProject(tdb.db, { tenantId: `b-${crypto.randomUUID().slice(0, 6)}` });
    const engines = new Map<string, string>();
    for (const t of [a, b]) {
      const id = crypto.randomUUID();
      await tdb.db('engines').insert({ id, tenant_id: t.tenantId, name: 'fake', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl, params: JSON.stringify({ cache: false }) });
      engines.set(t.tenantId, id);
    }
    const texts = sentimentTexts(BIG);
    await seedItems(tdb.db, a.tenantId, a.projectId, texts);
    const warm = await seedProject(tdb.db, { tenantId: b.tenantId });
    await seedItems(tdb.db, b.tenantId, warm.projectId, texts.slice(0, 20));
    const smallProjects = [await seedProject(tdb.db, { tenantId: b.tenantId }), b];
    for (const p of smallProjects) await seedItems(tdb.db, b.tenantId, p.projectId, texts.slice(0, SMALL));
    console.log(`bench: tenant A ${BIG} items, tenant B ${SMALL} items, provider latency ${L} ms, LLM concurrency ${C}`);

    const bundlePath = await writeWorkflowBundle(path.join(os.tmpdir(), `anno-bench-bundle-${process.pid}.js`));
    const worker = spawnWorkerProcess({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: tdb.url, LLM_CONCURRENCY: String(C), WORKFLOW_BUNDLE_PATH: bundlePath });
    try {
      const config = loadConfig({ ...process.env });
      const run = async (t: { tenantId: string; projectId: string }) => {
        const t0 = performance.now();
        const job = await startPreAnnotation(tdb.db, env.client, config, { tenantId: t.tenantId, userId: 'bench', project: { id: t.projectId, routing: {} }, engineId: engines.get(t.tenantId)!, concurrency: C });
        await env.client.workflow.getHandle(job.workflowId).result();
        return performance.now() - t0;
      };
      await run(warm); // the worker's first job loads workflow code and warms its caches
      const alone = await run(smallProjects[0]);
      const big = run(a);
      await new Promise((r) => setTimeout(r, 3000)); // A's job is in full flow
      const beside = await run(smallProjects[1]);
      const bigMs = await big;
      console.log('');
      console.log(`tenant B alone               ${seconds(alone)} s`);
      console.log(`tenant B beside tenant A     ${seconds(beside)} s   ratio ${(beside / alone).toFixed(2)}x (target ≤ 2x)`);
      console.log(`tenant A (${BIG} items)       ${seconds(bigMs)} s`);
    } finally {
      await stopProcess(worker);
    }
  } finally {
    await Promise.all([env.teardown(), tdb.drop(), fake.close()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
