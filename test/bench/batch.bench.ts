/**
 * Batch-mode benchmark (issue 13): the same items pre-annotated in sync mode and in batch mode
 * against the fake provider, through Temporal and a worker process, reading the cost from the
 * ledger. Prints cost per item batch ÷ sync (0.5 with default batch prices), the number of
 * provider batches, the largest workflow history, and the orchestration time beyond the fake
 * provider's processing delay.
 *
 *   npm run bench:batch                              # 10,000 items
 *   npm run bench:batch -- --items 1000 --processing-ms 1000 --chunk 250 --provider anthropic
 */
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { startPreAnnotation } from '../../src/jobs/start-pre-annotation';
import { sumDecimals } from '../../src/llm/cost';
import { resolveTemporalCli } from '../../src/temporal/cli-binary';
import { writeWorkflowBundle } from '../../src/temporal/worker';
import { createTestDatabase } from '../helpers/db';
import { startFakeAnthropic } from '../helpers/fake-anthropic';
import { startFakeOpenAI } from '../helpers/fake-openai';
import { seedItems, seedProject, sentimentTexts } from '../helpers/seed';
import { startTestTemporal } from '../helpers/temporal';
import { spawnWorkerProcess, stopProcess } from '../helpers/worker-process';

const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '10000' },
    provider: { type: 'string', default: 'openai' },
    'processing-ms': { type: 'string', default: '2000' },
    chunk: { type: 'string', default: '2500' },
    'in-flight': { type: 'string', default: '4' },
    'poll-initial-ms': { type: 'string', default: '200' },
    'poll-max-ms': { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    latency: { type: 'string', default: '5' },
  },
});
const N = Number(values.items);
const PROVIDER = values.provider === 'anthropic' ? 'anthropic' : 'openai';
const PROCESSING_MS = Number(values['processing-ms']);
const CHUNK = Number(values.chunk);
const IN_FLIGHT = Number(values['in-flight']);
const seconds = (ms: number) => (ms / 1000).toFixed(2);

async function main() {
  process.env.TEMPORAL_CLI_PATH ??= resolveTemporalCli({ log: console.log });
  const batchOptions = { processingMs: PROCESSING_MS };
  const [tdb, env, openai, anthropic] = await Promise.all([
    createTestDatabase('anno_bench'),
    startTestTemporal(),
    startFakeOpenAI({ latencyMs: Number(values.latency), batch: batchOptions }),
    startFakeAnthropic({ latencyMs: Number(values.latency), batch: batchOptions }),
  ]);
  const fake = PROVIDER === 'openai' ? openai : anthropic;
  const settings = {
    PROVIDER_BATCH_SIZE: String(CHUNK),
    PROVIDER_BATCHES_IN_FLIGHT: String(IN_FLIGHT),
    PROVIDER_BATCH_POLL_INITIAL_MS: values['poll-initial-ms']!,
    PROVIDER_BATCH_POLL_MAX_MS: values['poll-max-ms']!,
    LLM_CONCURRENCY: values.concurrency!,
  };
  const bundlePath = await writeWorkflowBundle(path.join(os.tmpdir(), `anno-bench-batch-bundle-${process.pid}.js`));
  const worker = spawnWorkerProcess({ TEMPORAL_ADDRESS: env.address, DATABASE_URL: tdb.url, WORKFLOW_BUNDLE_PATH: bundlePath, LOG_LEVEL: 'warn', ...settings });
  try {
    const { tenantId } = await seedProject(tdb.db);
    const engineId = crypto.randomUUID();
    await tdb.db('engines').insert({
      id: engineId, tenant_id: tenantId, name: 'fake', provider: PROVIDER, model: `fake-${PROVIDER}`, base_url: fake.baseUrl,
      price_input_per_1k: '0.0025', price_output_per_1k: '0.01', params: JSON.stringify({ cache: false }),
    });
    const config = loadConfig({ ...process.env, ...settings, LOG_LEVEL: 'silent' });
    const texts = sentimentTexts(N);
    console.log(`bench:batch: ${N} items, ${PROVIDER}, provider batch processing ${PROCESSING_MS} ms, chunks of ${CHUNK}, ${IN_FLIGHT} in flight`);

    const runJob = async (mode: 'sync' | 'batch') => {
      const project = await seedProject(tdb.db, { tenantId });
      await seedItems(tdb.db, tenantId, project.projectId, texts);
      const created = fake.batches.created;
      const t0 = performance.now();
      const job = await startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'bench', project: { id: project.projectId, routing: {} }, engineId, mode, batchSize: 100 });
      // The job's creation (row and item snapshot) is timed apart: it is the same in both modes.
      const t1 = performance.now();
      const result = await env.client.workflow.getHandle(job.workflowId).result();
      const wallMs = performance.now() - t1;
      const createMs = t1 - t0;
      const rows: { cost_usd: string }[] = await tdb.db('llm_usage').where({ job_id: job.jobId }).select('cost_usd');
      const cost = sumDecimals(rows.map((r) => r.cost_usd));
      let runs = 0;
      let maxHistory = 0;
      for await (const run of env.client.workflow.list({ query: `WorkflowId = '${job.workflowId}'` })) {
        runs++;
        maxHistory = Math.max(maxHistory, run.historyLength);
      }
      const [{ count }] = await tdb.db('annotations').where({ job_id: job.jobId }).countDistinct({ count: 'item_id' });
      return { wallMs, createMs, cost, perItem: Number(cost) / N, runs, maxHistory, batches: fake.batches.created - created, annotated: Number(count), failed: result.counters.failed };
    };

    // Warm-up (the worker's first workflow task, connections), then the two jobs.
    const warm = await seedProject(tdb.db, { tenantId });
    await seedItems(tdb.db, tenantId, warm.projectId, texts.slice(0, 5));
    const w = await startPreAnnotation(tdb.db, env.client, config, { tenantId, userId: 'bench', project: { id: warm.projectId, routing: {} }, engineId });
    await env.client.workflow.getHandle(w.workflowId).result();

    const sync = await runJob('sync');
    const batch = await runJob('batch');
    const waves = Math.ceil(Math.ceil(N / CHUNK) / IN_FLIGHT);
    const beyondMs = batch.wallMs - waves * PROCESSING_MS;
    console.log('');
    console.log(`                              sync            batch`);
    console.log(`items annotated (distinct)    ${String(sync.annotated).padEnd(15)} ${batch.annotated}   (failed ${sync.failed} / ${batch.failed})`);
    console.log(`ledger cost (USD)             ${sync.cost.padEnd(15)} ${batch.cost}`);
    console.log(`cost per item (USD)           ${sync.perItem.toPrecision(6).padEnd(15)} ${batch.perItem.toPrecision(6)}`);
    console.log(`cost per item batch ÷ sync    ${(batch.perItem / sync.perItem).toFixed(4)}`);
    console.log(`provider batches              -               ${batch.batches}`);
    console.log(`runs (continue-as-new)        ${String(sync.runs).padEnd(15)} ${batch.runs}`);
    console.log(`largest history of any run    ${String(sync.maxHistory).padEnd(15)} ${batch.maxHistory} events`);
    console.log(`job creation (row, snapshot)  ${seconds(sync.createMs).padEnd(15)} ${seconds(batch.createMs)} s`);
    console.log(`workflow wall time            ${seconds(sync.wallMs).padEnd(15)} ${seconds(batch.wallMs)} s`);
    console.log(`provider processing (waves)   -               ${waves} × ${seconds(PROCESSING_MS)} s = ${seconds(waves * PROCESSING_MS)} s`);
    console.log(`orchestration beyond it       -               ${seconds(beyondMs)} s (submit, polling granularity up to ${values['poll-max-ms']} ms, collect, writes)`);
  } finally {
    await stopProcess(worker);
    await Promise.all([env.teardown(), tdb.drop(), openai.close(), anthropic.close()]);
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
