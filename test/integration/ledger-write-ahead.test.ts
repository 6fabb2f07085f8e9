import crypto from 'node:crypto';
import { createDatabase } from '../../src/db/knex';
import { budgetReached, canonicalDecimal } from '../../src/annotation/budget';
import { collectWrites } from '../../src/llm/collected-writes';
import { computeCostUsd, sumDecimals } from '../../src/llm/cost';
import { openUsageBatch, openUsageUnlessCached, settleUsageBatch, type OpenCall } from '../../src/llm/ledger';
import { sweepUnsettledUsage, UNSETTLED_ERROR } from '../../src/llm/ledger-sweep';
import { loadVisibleEngines } from '../../src/llm/engine-store';
import { createSwitcher } from '../../src/llm/switcher';
import { usageByEngine } from '../../src/api/engines/store';
import { AllEnginesFailedError, type GenerateRequest, type ProjectContext } from '../../src/llm/types';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { seedProject } from '../helpers/seed';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * The write-ahead ledger against real PostgreSQL and a real HTTP provider: a call's row exists
 * (in flight, at its upper bound, counted in the job's spend) while the provider handles it; no
 * row, no call; a settle outlives a database outage; the sweeper closes what a dead process left.
 */
jest.setTimeout(60_000);

let tdb: TestDatabase;
let fake: FakeOpenAI;
let proxy: TcpProxy;
let tenantId: string;
let project: ProjectContext;
const engineId = crypto.randomUUID();
const PRICES = { price_input_per_1k: '0.0015', price_output_per_1k: '0.002' };

beforeAll(async () => {
  [tdb, fake] = await Promise.all([createTestDatabase(), startFakeOpenAI()]);
  proxy = await startTcpProxy({ host: new URL(tdb.url).hostname, port: Number(new URL(tdb.url).port || 5432) });
  const seeded = await seedProject(tdb.db);
  tenantId = seeded.tenantId;
  project = { tenantId, projectId: seeded.projectId, labelSchema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } };
  await tdb.db('engines').insert({ id: engineId, tenant_id: tenantId, name: 'priced', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl, ...PRICES, params: JSON.stringify({ max_tokens: 40 }) });
});
afterAll(async () => {
  await Promise.all([fake?.close(), proxy?.close()]);
  await tdb?.drop();
});
beforeEach(() => {
  fake.setFault(null);
  proxy.restore();
});

async function newJob(): Promise<string> {
  const jobId = crypto.randomUUID();
  await tdb.db('jobs').insert({ id: jobId, tenant_id: tenantId, project_id: project.projectId, type: 'pre_annotation', status: 'running', workflow_id: `wf-${jobId}`, created_by: 'u' });
  return jobId;
}

async function jobSpend(jobId: string): Promise<{ cost: string; sum: string; rows: any[] }> {
  const job = await tdb.db('jobs').where({ id: jobId }).first('cost_usd');
  const rows = await tdb.db('llm_usage').where({ job_id: jobId }).orderBy('id');
  return { cost: canonicalDecimal(job.cost_usd), sum: canonicalDecimal(sumDecimals(rows.map((r) => r.cost_usd))), rows };
}

const request = (jobId: string | undefined, over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  project, engineId, jobId, item: { id: crypto.randomUUID(), text: `a negative experience ${crypto.randomUUID()}` }, ...over,
});

test('the row is written in flight, at its upper bound and counted by the job, before the provider answers; settled after', async () => {
  const jobId = await newJob();
  const seen: { state: string; cost: string; upper: string; jobCost: string; deadlineAhead: boolean }[] = [];
  fake.setFault(async (req) => {
    const id = String(req.headers['x-client-request-id']).replace('anno-usage-', '');
    const row = await tdb.db('llm_usage').where({ id }).first();
    const job = await tdb.db('jobs').where({ id: jobId }).first('cost_usd');
    seen.push({ state: row.state, cost: canonicalDecimal(row.cost_usd), upper: canonicalDecimal(row.cost_upper_usd), jobCost: canonicalDecimal(job.cost_usd), deadlineAhead: row.deadline_at > new Date() });
    return null;
  });
  const switcher = createSwitcher({ db: tdb.db, timeoutMs: 5000, cacheTtlSeconds: 0 });
  const result = await switcher.generate(request(jobId));

  expect(seen).toHaveLength(1);
  expect(seen[0].state).toBe('in_flight');
  expect(seen[0].cost).toBe(seen[0].upper);
  expect(seen[0].jobCost).toBe(seen[0].upper); // budgets see the call while it is in flight
  expect(seen[0].deadlineAhead).toBe(true);
  const { cost, sum, rows } = await jobSpend(jobId);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ state: 'settled', outcome: 'ok', prompt_tokens: result.usage.promptTokens, completion_tokens: result.usage.completionTokens });
  expect(rows[0].settled_at).toBeInstanceOf(Date);
  expect(canonicalDecimal(rows[0].cost_usd)).toBe(computeCostUsd(result.usage, PRICES));
  expect(budgetReached(computeCostUsd(result.usage, PRICES), seen[0].upper)).toBe(false); // the bound was above the real cost
  expect(cost).toBe(sum); // the settle moved the job by (real − upper bound)
});

test("with a caller's call slot the row is written before the slot is taken, its deadline allowing a wait for it; the slot is held for the call only", async () => {
  const jobId = await newJob();
  const switcher = createSwitcher({ db: tdb.db, timeoutMs: 5000, cacheTtlSeconds: 0 });
  const events: string[] = [];
  let rowAtSlot: { state: string; deadline_at: Date; created_at: Date } | undefined;
  const callSlot = async <T>(call: () => Promise<T>): Promise<T> => {
    rowAtSlot = await tdb.db('llm_usage').where({ job_id: jobId }).first('state', 'deadline_at', 'created_at');
    events.push('slot taken');
    try {
      return await call();
    } finally {
      events.push('slot freed');
    }
  };
  fake.setFault(async () => {
    events.push('provider called');
    return null;
  });
  await switcher.generate(request(jobId, { callSlot }));

  expect(events).toEqual(['slot taken', 'provider called', 'slot freed']);
  expect(rowAtSlot?.state).toBe('in_flight'); // written ahead, while waiting for the slot
  // The sweeper may settle it no sooner than a wait of one call, the call and the margin (30 s).
  const deadlineAfterMs = rowAtSlot!.deadline_at.getTime() - rowAtSlot!.created_at.getTime();
  expect(deadlineAfterMs).toBeGreaterThanOrEqual(2 * 5000 + 30_000 - 1000);
  const { cost, sum, rows } = await jobSpend(jobId);
  expect(rows).toHaveLength(1);
  expect(rows[0].state).toBe('settled');
  expect(cost).toBe(sum);
});

test.each([
  ['cache off', 0],
  ['cache on: the read that would open the row fails too', 3600],
])('no row, no call (%s): when the ledger cannot be written the provider is not called and the attempt fails', async (_name, cacheTtlSeconds) => {
  const db = createDatabase({ databaseUrl: proxy.via(tdb.url), dataDir: '.data' });
  try {
    await db.raw('select 1'); // a pooled connection, then cut under it
    proxy.cut();
    const before = fake.requestCount;
    const refusedBefore = proxy.refused;
    // The failure is transient: the switcher retries the engine (2 retries here), each time without a call.
    const switcher = createSwitcher({ db, timeoutMs: 800, cacheTtlSeconds, retry: { maxRetries: 2 } });
    // The route's engine row was read before the outage: only the ledger write meets it.
    const engines = await loadVisibleEngines(tdb.db, tenantId, [engineId]);
    const started = Date.now();
    const err = await switcher.generate(request(undefined, { engines })).catch((e) => e);
    expect(err).toBeInstanceOf(AllEnginesFailedError);
    expect(err.attempts).toHaveLength(3);
    for (const attempt of err.attempts) expect(attempt.reason).toMatch(/^ledger_unavailable: usage ledger unavailable, provider not called/);
    // Each attempt retried the write with backoff for about the call's timeout (800 ms) before giving up.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 300);
    expect(proxy.refused - refusedBefore).toBeGreaterThanOrEqual(3);
    expect(fake.requestCount).toBe(before);
  } finally {
    proxy.restore();
    await db.destroy();
  }
});

test('a settle that fails is retried until the database is back', async () => {
  const jobId = await newJob();
  const db = createDatabase({ databaseUrl: proxy.via(tdb.url), dataDir: '.data' });
  try {
    // The database goes away while the provider works on the call, and comes back 1.5 s later.
    fake.setFault(() => {
      proxy.cut();
      setTimeout(() => proxy.restore(), 1500);
      return null;
    });
    const switcher = createSwitcher({ db, timeoutMs: 5000, cacheTtlSeconds: 0 });
    const started = Date.now();
    const result = await switcher.generate(request(jobId));
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    const { cost, sum, rows } = await jobSpend(jobId);
    expect(rows.map((r) => [r.state, r.outcome])).toEqual([['settled', 'ok']]);
    expect(canonicalDecimal(rows[0].cost_usd)).toBe(computeCostUsd(result.usage, PRICES));
    expect(cost).toBe(sum);
    expect(proxy.refused).toBeGreaterThan(0); // the retries did meet the outage
  } finally {
    proxy.restore();
    await db.destroy();
  }
});

test('the sweeper settles rows left in flight past their deadline as unknown at their upper bound, and budgets count them', async () => {
  const jobId = await newJob();
  const call = (costUpperUsd: string, deadlineMs: number): OpenCall => ({ key: crypto.randomUUID(), tenantId, projectId: project.projectId, jobId, engineId, model: 'fake-gpt', costUpperUsd, deadlineMs });
  // Three calls whose process "died" (deadline passed), one still within its deadline.
  const [dead1, dead2, dead3, alive] = await openUsageBatch(tdb.db, [call('0.3', 0), call('0.25', 0), call('0.0000000001', 0), call('0.4', 60_000)]);
  expect((await jobSpend(jobId)).cost).toBe('0.9500000001');

  expect(await sweepUnsettledUsage(tdb.db, 2)).toBe(3); // in batches of 2
  const byId = new Map((await jobSpend(jobId)).rows.map((r) => [String(r.id), r]));
  for (const { id } of [dead1, dead2, dead3]) {
    expect(byId.get(id)).toMatchObject({ state: 'unknown', outcome: 'unknown', error: UNSETTLED_ERROR });
    expect(byId.get(id).cost_usd).toBe(byId.get(id).cost_upper_usd);
  }
  expect(byId.get(alive.id)).toMatchObject({ state: 'in_flight', outcome: 'in_flight' });
  const after = await jobSpend(jobId);
  expect(after.cost).toBe(after.sum);
  expect(after.cost).toBe('0.9500000001'); // unknown rows stay counted at their upper bound
  expect(budgetReached(after.cost, '0.95')).toBe(true); // a budget of 0.95 is reached by them
  expect(await sweepUnsettledUsage(tdb.db)).toBe(0);

  // A settle arriving late (its process came back) corrects an unknown row to what the call cost.
  await settleUsageBatch(tdb.db, [{ call: dead1, settlement: { usage: { promptTokens: 100, completionTokens: 10, cachedTokens: 0 }, costUsd: '0.1', latencyMs: 5, outcome: 'ok' } }]);
  const corrected = await jobSpend(jobId);
  expect(corrected.rows.find((r) => String(r.id) === dead1.id)).toMatchObject({ state: 'settled', outcome: 'ok' });
  expect(corrected.cost).toBe('0.7500000001');
  expect(corrected.cost).toBe(corrected.sum);
  // Settling twice changes nothing.
  await settleUsageBatch(tdb.db, [{ call: dead1, settlement: { usage: { promptTokens: 1, completionTokens: 1, cachedTokens: 0 }, costUsd: '9', latencyMs: 5, outcome: 'ok' } }]);
  expect((await jobSpend(jobId)).cost).toBe('0.7500000001');
});

test('engine usage (the engines list, AI metrics per engine, compare) counts rows as they stand: in flight not an error, unknown an error, both in cost', async () => {
  const engine = crypto.randomUUID(); // an engine id of its own, so only these rows are summed
  const call = (costUpperUsd: string, deadlineMs: number): OpenCall => ({ key: crypto.randomUUID(), tenantId, projectId: project.projectId, engineId: engine, model: 'm', costUpperUsd, deadlineMs });
  const [settled] = await openUsageBatch(tdb.db, [call('0.5', 60_000), call('0.25', 60_000), call('0.125', 0)]);
  await settleUsageBatch(tdb.db, [{ call: settled, settlement: { usage: { promptTokens: 10, completionTokens: 2, cachedTokens: 0 }, costUsd: '0.01', latencyMs: 40, outcome: 'ok' } }]);
  await sweepUnsettledUsage(tdb.db);
  const stats = (await usageByEngine(tdb.db, tenantId, { engineIds: [engine] })).get(engine)!;
  expect(stats).toMatchObject({ calls: 3, errors: 1, cost_usd: '0.385', mean_latency_ms: 40 }); // 0.01 settled + 0.25 in flight + 0.125 unknown
});

test('opening a call twice (a retry after a commit whose answer was lost) opens one row and counts it once', async () => {
  const jobId = await newJob();
  const open: OpenCall = { key: crypto.randomUUID(), tenantId, projectId: project.projectId, jobId, engineId, model: 'fake-gpt', costUpperUsd: '0.5', deadlineMs: 60_000 };
  const [first] = await openUsageBatch(tdb.db, [open]);
  const [again, other] = await openUsageBatch(tdb.db, [open, { ...open, key: crypto.randomUUID(), costUpperUsd: '0.25' }]);
  expect(again.id).toBe(first.id);
  expect(other.id).not.toBe(first.id);
  const { cost, sum, rows } = await jobSpend(jobId);
  expect(rows).toHaveLength(2);
  expect(cost).toBe('0.75');
  expect(cost).toBe(sum);
});

test('a collected call (the suggestion path) has its in-flight row before the provider call; the settle goes with the caller’s write', async () => {
  let stateAtCall: string | undefined;
  fake.setFault(async (req) => {
    const id = String(req.headers['x-client-request-id']).replace('anno-usage-', '');
    stateAtCall = (await tdb.db('llm_usage').where({ id }).first())?.state;
    return null;
  });
  const switcher = createSwitcher({ db: tdb.db, timeoutMs: 5000, cacheTtlSeconds: 0 });
  const writes = collectWrites();
  const result = await switcher.generate(request(undefined, { writes }));
  expect(stateAtCall).toBe('in_flight');
  expect(writes.settles).toHaveLength(1);
  const id = writes.settles[0].call.id;
  expect((await tdb.db('llm_usage').where({ id }).first()).state).toBe('in_flight'); // not settled until the caller writes
  await writes.store(tdb.db);
  const row = await tdb.db('llm_usage').where({ id }).first();
  expect(row).toMatchObject({ state: 'settled', outcome: 'ok', prompt_tokens: result.usage.promptTokens });
  expect(canonicalDecimal(row.cost_usd)).toBe(computeCostUsd(result.usage, PRICES));
});

/** Statements the switcher sends while `fn` runs, by what they touch. */
async function statementsDuring<T>(fn: () => Promise<T>): Promise<{ result: T; sql: string[] }> {
  const sql: string[] = [];
  const listen = (q: { sql: string }) => sql.push(q.sql);
  tdb.db.on('query', listen);
  try {
    return { result: await fn(), sql };
  } finally {
    tdb.db.off('query', listen);
  }
}

test('a live cache miss reads the cache and opens its row in ONE statement, the row in flight before the call; a hit from the table opens none', async () => {
  const jobId = await newJob();
  let stateAtCall: string | undefined;
  fake.setFault(async (req) => {
    const id = String(req.headers['x-client-request-id']).replace('anno-usage-', '');
    stateAtCall = (await tdb.db('llm_usage').where({ id }).first())?.state;
    return null;
  });
  const switcher = createSwitcher({ db: tdb.db, timeoutMs: 5000 });
  const asked = request(jobId);
  const miss = await statementsDuring(() => switcher.generate(asked));
  expect(miss.result.cached).toBe(false);
  expect(stateAtCall).toBe('in_flight');
  const cacheReads = miss.sql.filter((q) => /from "?llm_cache"?/i.test(q));
  expect(cacheReads).toHaveLength(1);
  expect(cacheReads[0]).toMatch(/INSERT INTO llm_usage/); // the read is the open
  expect(miss.sql.filter((q) => /insert into "llm_usage"/i.test(q) && !/ledger_settles/.test(q))).toHaveLength(0);

  await switcher.flush(); // the entry is in the table: the next read finds it there
  fake.setFault(null);
  const hit = await switcher.generate(asked);
  expect(hit.cached).toBe(true);
  const { cost, sum, rows } = await jobSpend(jobId);
  expect(rows.map((r) => [r.state, r.cached])).toEqual([
    ['settled', false],
    ['settled', true],
  ]);
  expect(cost).toBe(computeCostUsd(miss.result.usage, PRICES));
  expect(cost).toBe(sum);
});

test('read-and-open answered twice for one call key (its first answer lost) opens one row, and a later open by that key finds it', async () => {
  const jobId = await newJob();
  const open: OpenCall = { key: crypto.randomUUID(), tenantId, projectId: project.projectId, jobId, engineId, model: 'fake-gpt', costUpperUsd: '0.5', deadlineMs: 60_000 };
  const first = await openUsageUnlessCached(tdb.db, `no-such-entry-${open.key}`, open);
  const again = await openUsageUnlessCached(tdb.db, `no-such-entry-${open.key}`, open);
  const [byBatch] = await openUsageBatch(tdb.db, [open]);
  expect(first.opened?.id).toBeDefined();
  expect(again.opened?.id).toBe(first.opened?.id);
  expect(byBatch.id).toBe(first.opened?.id);
  const { cost, sum, rows } = await jobSpend(jobId);
  expect(rows).toHaveLength(1);
  expect(cost).toBe('0.5');
  expect(cost).toBe(sum);
});

test('a circuit that opens while the read-and-open waits on a held lock: no call, the row settled at no cost, nothing left in flight', async () => {
  const jobId = await newJob();
  const switcher = createSwitcher({ db: tdb.db, timeoutMs: 5000, circuitBreaker: { failureThreshold: 1 } });
  const held = await tdb.db.transaction();
  await held.raw('LOCK TABLE llm_usage IN EXCLUSIVE MODE');
  const before = fake.requestCount;
  const pending = switcher.generate(request(jobId));
  try {
    // The statement is waiting on the lock; meanwhile another call's failure opens the circuit.
    await new Promise((r) => setTimeout(r, 300));
    switcher.circuitBreaker.onFailure(engineId);
    expect(switcher.circuitBreaker.wouldRefuse(engineId)).toBe(true);
  } finally {
    await held.rollback();
  }
  await expect(pending).rejects.toBeInstanceOf(AllEnginesFailedError);
  expect(fake.requestCount).toBe(before);
  const { cost, sum, rows } = await jobSpend(jobId);
  expect(rows.map((r) => [r.state, r.outcome, r.error])).toEqual([['settled', 'error', 'not called']]);
  expect(cost).toBe('0');
  expect(cost).toBe(sum);
});
