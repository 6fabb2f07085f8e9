import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { compareDecimals, canonicalDecimal } from '../../src/annotation/budget';
import { sumDecimals } from '../../src/llm/cost';
import { errorOf, tokenFor, type TestApi } from '../helpers/api';
import type { TestDatabase } from '../helpers/db';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { sentimentTexts } from '../helpers/seed';

/**
 * Pre-annotation budgets through HTTP: a priced engine on a fake OpenAI server, a budget that
 * runs out, a pause with no provider calls, a raise that finishes the job, and a spend equal
 * to the ledger to the last digit.
 */
let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let fake: FakeOpenAI;
let api: TestApi;
let stack: TestStack;

const TENANT = 'acme';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const annotator = tokenFor({ tenantId: TENANT, sub: 'ann', roles: ['annotator'] });

beforeAll(async () => {
  // Two batches a run: the budget and the spend must survive continue-as-new.
  stack = await startTestStack({ PRE_ANNOTATION_BATCH_SIZE: '10', LLM_CONCURRENCY: '8', PRE_ANNOTATION_BATCHES_PER_RUN: '2' });
  ({ tdb, env, api } = stack);
  fake = await startFakeOpenAI({ latencyMs: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(n: number) {
  const res = await api.request('/api/v1/projects', {
    method: 'POST', token: manager, json: { name: 'Budget', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } },
  });
  const project = (await res.json()) as { id: string };
  const imported = await api.request(`/api/v1/projects/${project.id}/items`, {
    method: 'POST', token: manager, json: { items: sentimentTexts(n).map((text) => ({ data: { text } })) },
  });
  expect(imported.status).toBe(201);
  const engine = crypto.randomUUID();
  await tdb.db('engines').insert({
    id: engine, tenant_id: TENANT, name: 'priced', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl,
    params: JSON.stringify({ cache: false }), price_input_per_1k: '0.0123456789', price_output_per_1k: '0.0234567891',
  });
  return { projectId: project.id, engine };
}

async function progressOf(jobId: string) {
  const res = await api.request(`/api/v1/annotation/pre-annotate/${jobId}/progress`, { token: manager });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

async function waitFor<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(50);
  }
}

test('a job pauses when its spend reaches the budget, makes no calls while paused, and finishes when the budget is raised', async () => {
  const { projectId, engine } = await setup(60);
  fake.setLatency(20);
  try {
    const budget = '0.01';
    const started = await api.request('/api/v1/annotation/pre-annotate', {
      method: 'POST', token: manager, json: { project_id: projectId, engine_id: engine, batch_size: 5, concurrency: 2, max_cost_usd: budget },
    });
    expect(started.status).toBe(202);
    const job = (await started.json()) as { job_id: string; workflow_id: string };
    expect((await tdb.db('jobs').where({ id: job.job_id }).first()).params.max_cost_usd).toBe(budget);

    // The row says paused only once the batches in flight have finished.
    await waitFor(async () => (await tdb.db('jobs').where({ id: job.job_id }).first()).status === 'paused');
    const paused = await progressOf(job.job_id);
    expect(paused).toMatchObject({ status: 'paused', pause_reason: 'budget', max_cost_usd: budget });
    expect(compareDecimals(paused.spent_usd, budget)).toBeGreaterThanOrEqual(0);
    expect(paused.processed).toBeLessThan(60);
    expect(paused.processed % 5).toBe(0); // whole batches

    // Overshoot bounded by the in-flight window (one batch of 5 here): spend < budget + 5 × the dearest call.
    const costs: string[] = await tdb.db('llm_usage').where({ job_id: job.job_id }).pluck('cost_usd');
    const dearest = costs.reduce((a, b) => (compareDecimals(a, b) >= 0 ? a : b));
    expect(compareDecimals(paused.spent_usd, sumDecimals([budget, ...Array(5).fill(dearest)]))).toBe(-1);

    // Nothing moves while paused.
    const calls = fake.requestCount;
    await sleep(600);
    expect(fake.requestCount).toBe(calls);
    const still = await progressOf(job.job_id);
    expect(still).toMatchObject({ status: 'paused', processed: paused.processed, spent_usd: paused.spent_usd });

    const event = await tdb.db('events').where({ project_id: projectId, type: 'job.progress' }).whereRaw("payload->>'reason' = 'budget_exhausted'").first();
    expect(event.payload).toMatchObject({ job_id: job.job_id, status: 'paused', max_cost_usd: budget });
    expect(compareDecimals(event.payload.spent_usd, budget)).toBeGreaterThanOrEqual(0);

    // A budget at or below the spend, a bad value, or a role without the right is refused.
    const setBudget = (json: unknown, token = manager) =>
      api.request(`/api/v1/annotation/pre-annotate/${job.job_id}/budget`, { method: 'POST', token, json });
    const atSpend = await setBudget({ max_cost_usd: paused.spent_usd });
    expect(atSpend.status).toBe(422);
    expect((await errorOf(atSpend)).details[0].field).toBe('max_cost_usd');
    expect((await setBudget({ max_cost_usd: 0 })).status).toBe(422);
    expect((await setBudget({ max_cost_usd: 'lots' })).status).toBe(422);
    expect((await setBudget({ max_cost_usd: '5' }, annotator)).status).toBe(403);
    await sleep(200);
    expect(fake.requestCount).toBe(calls);

    // A raise that buys a few more batches: the job runs on (across runs) and pauses again.
    const costOfCall = dearest;
    const second = sumDecimals([paused.spent_usd, ...Array(12).fill(costOfCall)]); // ≈ two batches more
    expect((await setBudget({ max_cost_usd: second })).status).toBe(202);
    await waitFor(async () => {
      const p = await progressOf(job.job_id);
      return p.status === 'paused' && p.max_cost_usd === second && p.processed > paused.processed && (await tdb.db('jobs').where({ id: job.job_id }).first()).status === 'paused';
    });
    const pausedAgain = await progressOf(job.job_id);
    expect(pausedAgain.pause_reason).toBe('budget');
    expect(compareDecimals(pausedAgain.spent_usd, second)).toBeGreaterThanOrEqual(0);
    expect(pausedAgain.processed).toBeLessThan(60);
    const runs: string[] = [];
    for await (const wf of env.client.workflow.list({ query: `WorkflowId = '${job.workflow_id}'` })) runs.push(wf.runId);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    const events = await tdb.db('events').where({ project_id: projectId, type: 'job.progress' }).whereRaw("payload->>'reason' = 'budget_exhausted'").orderBy('id');
    expect(events.map((e) => e.payload.max_cost_usd)).toEqual([budget, second]);
    // Each budget pause is in the audit trail as the workflow's decision, with the budget it hit.
    const audit = await api.request(`/api/v1/annotation/audit?entity=job&entity_id=${job.job_id}&action=job.paused`, { token: manager });
    const pauses = ((await audit.json()) as any).items.reverse();
    expect(pauses.map((a: any) => [a.actor, a.details.reason, a.details.max_cost_usd])).toEqual([['system', 'budget', budget], ['system', 'budget', second]]);

    const raised = await setBudget({ max_cost_usd: '5.00' });
    expect(raised.status).toBe(202);
    expect(await raised.json()).toMatchObject({ job_id: job.job_id, action: 'budget', max_cost_usd: '5' });
    const done = await waitFor(async () => {
      const p = await progressOf(job.job_id);
      return p.status === 'completed' && p;
    });
    expect(done).toMatchObject({ processed: 60, max_cost_usd: '5' });
    expect(done.pause_reason).toBeUndefined();
    expect((await tdb.db('jobs').where({ id: job.job_id }).first()).params.max_cost_usd).toBe('5');

    // Spend: ledger sum == jobs.cost_usd == reported, exactly; one ledger row per provider call.
    const [{ sum, n }] = await tdb.db('llm_usage').where({ job_id: job.job_id }).select(tdb.db.raw('sum(cost_usd)::text AS sum, count(*)::int AS n'));
    const row = await tdb.db('jobs').where({ id: job.job_id }).first();
    expect(row.cost_usd).toBe(sum);
    expect(done.spent_usd).toBe(canonicalDecimal(sum));
    expect(n).toBe(fake.requestCount);
    const detail = (await (await api.request(`/api/v1/annotation/jobs/${job.job_id}`, { token: manager })).json()) as any;
    expect(detail.progress.spent_usd).toBe(done.spent_usd);
    expect(detail.result.spent_usd).toBe(done.spent_usd);
    const completed = await tdb.db('events').where({ project_id: projectId, type: 'job.completed' }).first();
    expect(completed.payload.spent_usd).toBe(done.spent_usd);

    // An ended job takes no budget.
    expect((await setBudget({ max_cost_usd: '10' })).status).toBe(409);
  } finally {
    fake.setLatency(0);
  }
});

test('max_cost_usd must be a decimal > 0', async () => {
  const { projectId } = await setup(1);
  for (const bad of [0, -1, '0.00000000001', 'ten', true]) {
    const res = await api.request('/api/v1/annotation/pre-annotate', { method: 'POST', token: manager, json: { project_id: projectId, max_cost_usd: bad } });
    expect(res.status).toBe(422);
    expect((await errorOf(res)).details.map((d) => d.field)).toContain('max_cost_usd');
  }
});
