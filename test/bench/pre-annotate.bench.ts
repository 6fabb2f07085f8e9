/**
 * Pre-annotation benchmark: a job of N items against the fake OpenAI-compatible server with
 * latency L and LLM concurrency C, through Temporal, compared with the ideal N·L/C and with a
 * plain in-process loop doing the same provider calls and database writes.
 *
 *   npm run bench:pre-annotate -- --items 10000 --latency 20 --concurrency 32 --batch 100
 *   npm run bench:pre-annotate -- --latency 200 --concurrency 64 --workers 1,2,3 --skip-plain
 *
 * --worker-heap-mb: the worker's --max-old-space-size (default 192, as docker-compose.yml; 0: node's default).
 * --worker-semi-space-mb: the worker's --max-semi-space-size (default 32, as docker-compose.yml; 0: node's default).
 * --workers: run the job once per worker count (N worker processes on the same database and
 * Temporal, each with LLM concurrency C), a fresh project each time; prints throughput per count.
 */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { createSwitcher } from '../../src/llm/switcher';
import { routeByConfidence, DEFAULT_THRESHOLDS } from '../../src/annotation/routing';
import { forEachLimited } from '../../src/annotation/semaphore';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { loadProjectContext } from '../../src/data/project-context';
import { itemText } from '../../activities/pre-annotation';
import { createTestDatabase } from '../helpers/db';
import { startFakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import { startTestTemporal } from '../helpers/temporal';
import { rssMb, spawnWorkerProcess, stopProcess } from '../helpers/worker-process';
import { resolveTemporalCli } from '../../src/temporal/cli-binary';
import { cpuMeter, descendantsNamed, namedCpuMs, treeCpuMs } from '../helpers/proc-cpu';
import { writeWorkflowBundle } from '../../src/temporal/worker';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000' },
    latency: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '32' },
    batch: { type: 'string', default: '100' },
    'batches-per-run': { type: 'string', default: '100' },
    'skip-plain': { type: 'boolean', default: false },
    workers: { type: 'string' },
    // As docker-compose.yml runs workers (WORKER_MAX_OLD_SPACE_MB); 0: node's default heap.
    'worker-heap-mb': { type: 'string', default: '192' },
    // As docker-compose.yml (WORKER_SEMI_SPACE_MB); 0: node's default young generation.
    'worker-semi-space-mb': { type: 'string', default: '32' },
  },
});
const N = Number(values.items);
const L = Number(values.latency);
const C = Number(values.concurrency);
const B = Number(values.batch);
const HEAP_MB = Number(values['worker-heap-mb']);
const SEMI_SPACE_MB = Number(values['worker-semi-space-mb']);
const WORKER_NODE_ARGS = [...(HEAP_MB > 0 ? [`--max-old-space-size=${HEAP_MB}`] : []), ...(SEMI_SPACE_MB > 0 ? [`--max-semi-space-size=${SEMI_SPACE_MB}`] : [])];

const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function main() {
  process.env.TEMPORAL_CLI_PATH ??= resolveTemporalCli({ log: console.log });
  const [tdb, env, fake] = await Promise.all([createTestDatabase('anno_bench'), startTestTemporal(), startFakeOpenAI({ latencyMs: L })]);
  try {
    const { tenantId, projectId } = await seedProject(tdb.db);
    const engineId = crypto.randomUUID();
    await tdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: 'fake', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl });
    const texts = sentimentTexts(N);
    console.log(`bench: ${N} items, provider latency ${L} ms, LLM concurrency ${C}, batch size ${B}, worker heap ${HEAP_MB > 0 ? `${HEAP_MB} MB` : "node's default"}, young generation ${SEMI_SPACE_MB > 0 ? `${SEMI_SPACE_MB} MB semi-spaces` : "node's default"}`);
    if (values.workers) {
      await scaleOut(tdb, env, engineId, tenantId, texts, values.workers.split(',').map(Number));
      return;
    }

    // 1. The plain loop: same calls, same writes, same concurrency, no Temporal; in a database
    //    of its own, so neither phase works on tables the other has grown.
    let plainMs = NaN;
    if (!values['skip-plain']) {
      const pdb = await createTestDatabase('anno_bench');
      try {
        const plain = await seedProject(pdb.db, { tenantId });
        await pdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: 'fake', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl });
        await seedItems(pdb.db, tenantId, plain.projectId, texts);
        const switcher = createSwitcher({ db: pdb.db, timeoutMs: 60_000, engineCacheMs: 2000 }); // as the worker's
        const project = await loadProjectContext(pdb.db, tenantId, plain.projectId);
        const t0 = performance.now();
        const rows = await pdb.db('items').where({ project_id: plain.projectId }).orderBy('seq').select('id', 'data');
        await forEachLimited(rows, C, async (item) => {
          const r = await switcher.generate({ project, engineId, item: { id: item.id, text: itemText(item.data) } });
          await pdb.db('annotations').insert({
            id: crypto.randomUUID(), tenant_id: tenantId, project_id: plain.projectId, item_id: item.id, source: 'ai',
            annotator_id: r.engineId, engine_id: r.engineId, value: JSON.stringify(r.value), confidence: r.confidence,
            status: routeByConfidence(r.confidence, DEFAULT_THRESHOLDS),
          });
        });
        plainMs = performance.now() - t0;
      } finally {
        await pdb.drop();
      }
    }

    // 2. The same work as a Temporal job, the worker in its own process, started as a built
    //    image starts it: with the workflow bundle prebuilt (no webpack in the worker).
    await seedItems(tdb.db, tenantId, projectId, texts);
    const bundlePath = await writeWorkflowBundle(path.join(os.tmpdir(), `anno-bench-bundle-${process.pid}.js`));
    const worker = spawnWorkerProcess({
      TEMPORAL_ADDRESS: env.address,
      DATABASE_URL: tdb.url,
      LLM_CONCURRENCY: String(C),
      PRE_ANNOTATION_BATCHES_PER_RUN: values['batches-per-run']!,
      WORKFLOW_BUNDLE_PATH: bundlePath,
    }, WORKER_NODE_ARGS);
    // Resident memory during the job (sampled) and the process's high-water mark since start.
    let jobRssMb = 0;
    let sampling = false;
    const sampler = setInterval(() => {
      if (sampling) jobRssMb = Math.max(jobRssMb, rssMb(worker.pid!).now);
    }, 100);
    try {
      const config = loadConfig({ ...process.env, PRE_ANNOTATION_BATCHES_PER_RUN: values['batches-per-run'] });
      // Warm-up: the worker bundles workflow code at start; time the job from its start.
      const warm = await seedProject(tdb.db, { tenantId });
      await seedItems(tdb.db, tenantId, warm.projectId, texts.slice(0, 10));
      const w = await startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'bench', project: { id: warm.projectId, routing: {} }, engineId });
      await env.client.workflow.getHandle(w.workflowId).result();

      fake.resetStats();
      // CPU of each process over the job: the worker, PostgreSQL (every backend), the Temporal
      // dev server, and this process (the fake provider and the client). The API is not in a
      // job's path: a job is started once and then runs in the worker.
      const temporalPids = descendantsNamed(process.pid, 'temporal');
      const meter = cpuMeter({
        worker: () => treeCpuMs(worker.pid!),
        postgres: () => namedCpuMs('postgres'),
        'temporal server': () => temporalPids.reduce((n, p) => n + treeCpuMs(p), 0),
        'bench (fake provider)': () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; },
      });
      const commits = () => pgCommits(tdb.db);
      const commits0 = await commits();
      meter.start();
      const t0 = performance.now();
      sampling = true;
      const job = await startPreAnnotation(tdb.db, env.client, config, {
        tenantId, userId: 'bench', project: { id: projectId, routing: {} }, engineId, batchSize: B, concurrency: C,
      });
      const result = await env.client.workflow.getHandle(job.workflowId).result();
      const t1 = performance.now();
      const jobMs = t1 - t0;
      const cpu = meter.sample();
      const commitCount = (await commits()) - commits0;
      sampling = false;
      const peakMb = rssMb(worker.pid!).peak;

      let runs = 0;
      let maxHistory = 0;
      for await (const run of env.client.workflow.list({ query: `WorkflowId = '${job.workflowId}'` })) {
        runs++;
        maxHistory = Math.max(maxHistory, run.historyLength);
      }
      const [{ count }] = await tdb.db('annotations').where({ job_id: job.jobId }).countDistinct({ count: 'item_id' });
      const idealMs = (N * L) / C;
      console.log('');
      console.log(`items annotated (distinct)   ${count} of ${N} (${result.counters.failed} failed)`);
      console.log(`job wall time                ${seconds(jobMs)} s`);
      console.log(`throughput                   ${(N / (jobMs / 1000)).toFixed(0)} items/s`);
      console.log(`ideal N·L/C                  ${seconds(idealMs)} s   ratio ${(jobMs / idealMs).toFixed(3)}x`);
      if (!Number.isNaN(plainMs)) console.log(`plain in-process loop        ${seconds(plainMs)} s   ratio ${(jobMs / plainMs).toFixed(3)}x`);
      // Nominal: calls × L over the job; in the provider: the time calls really spent there (L plus its own delays).
      console.log(`provider calls in flight     max ${fake.maxInFlight}, mean ${((fake.requestCount * L) / jobMs).toFixed(1)} nominal, ${(fake.handledMs / jobMs).toFixed(1)} in the provider (of ${C})`);
      console.log(`start to first provider call ${seconds(fake.firstRequestAt - t0)} s; last answer to job end ${seconds(t1 - fake.lastAnswerAt)} s`);
      console.log(`runs (continue-as-new)       ${runs}`);
      console.log(`largest history of any run   ${maxHistory} events`);
      console.log(`worker RSS during the job    ${jobRssMb.toFixed(0)} MB (max of samples every 100 ms)`);
      console.log(`worker peak RSS since start  ${peakMb.toFixed(0)} MB (whole life of the process)`);
      console.log(`PostgreSQL commits per item  ${(commitCount / N).toFixed(2)} (${commitCount} in the job's span, every connection)`);
      console.log('CPU ms per item              ' + Object.entries(cpu).map(([k, ms]) => `${k} ${(ms / N).toFixed(2)}`).join(', '));
      console.log(`CPU cores busy (of ${os.cpus().length})        ` + (Object.values(cpu).reduce((a, b) => a + b, 0) / jobMs).toFixed(2));
    } finally {
      clearInterval(sampler);
      await stopProcess(worker);
    }
  } finally {
    await Promise.all([env.teardown(), tdb.drop(), fake.close()]);
  }
}

/**
 * The same job with 1, 2, 3… worker processes (same database, same Temporal): throughput per
 * worker count, and per worker. Each count gets a fresh project of N items and a warm-up job.
 */
async function scaleOut(
  tdb: Awaited<ReturnType<typeof createTestDatabase>>,
  env: Awaited<ReturnType<typeof startTestTemporal>>,
  engineId: string,
  tenantId: string,
  texts: string[],
  counts: number[],
) {
  const bundlePath = await writeWorkflowBundle(path.join(os.tmpdir(), `anno-bench-bundle-${process.pid}.js`));
  const config = loadConfig({ ...process.env, PRE_ANNOTATION_BATCHES_PER_RUN: values['batches-per-run'] });
  const rows: string[] = [];
  for (const n of counts) {
    const workers = Array.from({ length: n }, () =>
      spawnWorkerProcess({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: tdb.url, LLM_CONCURRENCY: String(C), WORKFLOW_BUNDLE_PATH: bundlePath }, WORKER_NODE_ARGS),
    );
    try {
      const warm = await seedProject(tdb.db, { tenantId });
      await seedItems(tdb.db, tenantId, warm.projectId, texts.slice(0, 10 * n));
      const w = await startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'bench', project: { id: warm.projectId, routing: {} }, engineId });
      await env.client.workflow.getHandle(w.workflowId).result();
      const project = await seedProject(tdb.db, { tenantId });
      await seedItems(tdb.db, tenantId, project.projectId, texts);
      const t0 = performance.now();
      // The job's concurrency is the sum of the workers' slots: each worker runs its own share of batches.
      const job = await startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'bench', project: { id: project.projectId, routing: {} }, engineId, batchSize: B, concurrency: C * n });
      await env.client.workflow.getHandle(job.workflowId).result();
      const ms = performance.now() - t0;
      const ideal = (N * L) / (C * n);
      rows.push(`${String(n).padEnd(8)} ${seconds(ms).padStart(8)} s  ${(N / (ms / 1000)).toFixed(0).padStart(6)} items/s  ${(N / (ms / 1000) / n).toFixed(0).padStart(6)} items/s per worker  ideal ${seconds(ideal)} s (${(ms / ideal).toFixed(2)}x)`);
      console.log(rows[rows.length - 1]);
    } finally {
      await Promise.all(workers.map((w) => stopProcess(w)));
    }
  }
  console.log('');
  console.log(`workers  job time     throughput (N = ${N}, L = ${L} ms, C = ${C} per worker)`);
  for (const r of rows) console.log(r);
}

/** Transactions committed in the database so far (pg_stat_database; the statistics lag by up to a second). */
async function pgCommits(db: Awaited<ReturnType<typeof createTestDatabase>>['db']): Promise<number> {
  await new Promise((r) => setTimeout(r, 1100)); // let the statistics collector catch up (stats_fetch_consistency)
  await db.raw('SELECT pg_stat_clear_snapshot()');
  const { rows } = await db.raw('SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0].xact_commit);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
