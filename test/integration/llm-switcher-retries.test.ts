import crypto from 'node:crypto';
import { createSwitcher, type Switcher } from '../../src/llm/switcher';
import { AllEnginesFailedError, type GenerateRequest, type ProjectContext } from '../../src/llm/types';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';

/** Retries of transient failures on the same engine, and single flight, against a real HTTP server and PostgreSQL. */

let tdb: TestDatabase;
let fake: FakeOpenAI;
let switcher: Switcher;

const T = 'retry-tenant';
const ids = { a: crypto.randomUUID(), b: crypto.randomUUID(), two: crypto.randomUUID(), quick: crypto.randomUUID(), dead: crypto.randomUUID() };
const project: ProjectContext = { tenantId: T, projectId: crypto.randomUUID(), labelSchema: { type: 'single_label', labels: ['spam', 'ham'] } };
let n = 0;
/** A fresh text per request, so no test answers another from the cache. */
const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({ project, engineId: ids.a, item: { text: `spam offer ${++n}` }, ...over });
const usage = () => tdb.db('llm_usage').select('*').orderBy('id');
const failOf = (e: unknown) => e as AllEnginesFailedError;

beforeAll(async () => {
  [tdb, fake] = await Promise.all([createTestDatabase(), startFakeOpenAI()]);
  await tdb.db('tenants').insert({ id: T });
  const row = (id: string, over: Record<string, unknown>) => ({
    id, tenant_id: T, name: id.slice(0, 8), provider: 'openai', base_url: fake.baseUrl, price_input_per_1k: '0.001', price_output_per_1k: '0.002',
    ...over, params: JSON.stringify(over.params ?? {}), fallback_engine_ids: JSON.stringify(over.fallback_engine_ids ?? []),
  });
  await tdb.db('engines').insert([
    row(ids.a, { model: 'model-a', fallback_engine_ids: [ids.b] }),
    row(ids.b, { model: 'model-b' }),
    row(ids.two, { model: 'model-two', params: { max_retries: 2 } }),
    row(ids.quick, { model: 'model-quick', params: { timeout_ms: 200 } }),
    row(ids.dead, { model: 'model-dead', base_url: 'http://127.0.0.1:1/v1', params: { max_retries: 2 } }),
  ]);
});
afterAll(async () => {
  await switcher?.flush(); // cache entries are written behind the answer: store them before the database goes
  await fake?.close();
  await tdb?.drop();
});
beforeEach(async () => {
  fake.setFault(null);
  fake.setLatency(0);
  fake.resetStats();
  await switcher?.flush();
  await tdb.db('llm_usage').delete();
  switcher = createSwitcher({ db: tdb.db, timeoutMs: 5000, retry: { maxRetries: 3, baseDelayMs: 40 } });
});

const models = () => fake.requests.map((r) => r.model);

describe('transient failures are retried on the same engine', () => {
  it('a 500 twice, then an answer: same engine, every attempt recorded, one ledger row per call, backoff between', async () => {
    fake.setFault((r) => (r.index < 2 ? { status: 500, body: { error: { message: 'upstream exploded' } } } : null));
    const result = await switcher.generate(request());
    expect(result.engineId).toBe(ids.a);
    expect(models()).toEqual(['model-a', 'model-a', 'model-a']);
    expect(result.failedAttempts).toEqual([
      { engineId: ids.a, attempt: 1, outcome: 'error', reason: 'http_5xx: http 500: upstream exploded' },
      { engineId: ids.a, attempt: 2, outcome: 'error', reason: 'http_5xx: http 500: upstream exploded' },
    ]);
    expect((await usage()).map((u) => u.outcome)).toEqual(['error', 'error', 'ok']);
    const [r0, r1, r2] = fake.requests.map((r) => r.receivedAt);
    expect(r1 - r0).toBeGreaterThanOrEqual(19); // first backoff: 20–40 ms
    expect(r2 - r1).toBeGreaterThanOrEqual(39); // second: 40–80 ms
  });

  it('a 429 waits its Retry-After and retries the same engine instead of failing over', async () => {
    fake.setFault((r) => (r.index === 0 ? { status: 429, retryAfter: 1 } : null));
    const started = Date.now();
    const result = await switcher.generate(request());
    expect(result.engineId).toBe(ids.a);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(fake.requests[1].receivedAt - fake.requests[0].receivedAt).toBeGreaterThanOrEqual(1000);
    expect(models()).toEqual(['model-a', 'model-a']);
    expect(result.failedAttempts.map((f) => [f.attempt, f.outcome])).toEqual([[1, 'rate_limited']]);
  });

  it('a hang past the engine’s timeout is retried', async () => {
    fake.setFault((r) => (r.index === 0 ? 'timeout' : null));
    const result = await switcher.generate(request({ engineId: ids.quick }));
    expect(result.engineId).toBe(ids.quick);
    expect(result.failedAttempts).toEqual([{ engineId: ids.quick, attempt: 1, outcome: 'timeout', reason: 'timeout: no answer within 200ms' }]);
    expect((await usage()).map((u) => u.outcome)).toEqual(['timeout', 'ok']);
  });

  it('gives up after the engine’s max_retries and lists every attempt in the error', async () => {
    fake.setFault(() => ({ status: 503 }));
    const err = failOf(await switcher.generate(request({ engineId: ids.two })).catch((e) => e));
    expect(err).toBeInstanceOf(AllEnginesFailedError);
    expect(fake.requestCount).toBe(3); // 1 + params.max_retries 2
    expect(err.attempts.map((a) => [a.engineId, a.attempt, a.outcome])).toEqual([[ids.two, 1, 'error'], [ids.two, 2, 'error'], [ids.two, 3, 'error']]);
    expect(err.message).toBe(`all engines failed: ${[1, 2, 3].map((i) => `${ids.two} #${i} http_5xx: http 503: fake upstream error 503`).join('; ')}`);
    expect(await usage()).toHaveLength(3);
  });

  it('retries connection errors', async () => {
    const err = failOf(await switcher.generate(request({ engineId: ids.dead })).catch((e) => e));
    expect(err.attempts.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'error'], [2, 'error'], [3, 'error']]);
    expect(err.attempts[2].reason).toMatch(/^connection_failed: /);
  });
});

describe('what is not retried', () => {
  it('a permanent error (400, 401, 404) fails over at once', async () => {
    for (const status of [400, 401, 404]) {
      fake.resetStats();
      fake.setFault((r) => (r.model === 'model-a' ? { status } : null));
      const result = await switcher.generate(request());
      expect(result.engineId).toBe(ids.b);
      expect(models()).toEqual(['model-a', 'model-b']);
      expect(result.failedAttempts.map((f) => [f.attempt, f.reason.slice(0, 18)])).toEqual([[1, `http_4xx: http ${status}`]]);
    }
  });

  it('an invalid answer is retried once, then the engine is given up on', async () => {
    fake.setFault((r) => (r.model === 'model-a' ? 'malformed' : null));
    const result = await switcher.generate(request());
    expect(result.engineId).toBe(ids.b);
    expect(models()).toEqual(['model-a', 'model-a', 'model-b']);
    expect(result.failedAttempts.map((f) => [f.attempt, f.outcome])).toEqual([[1, 'invalid_output'], [2, 'invalid_output']]);
  });

  it('an open circuit is not retried', async () => {
    const tripped = createSwitcher({ db: tdb.db, timeoutMs: 5000, circuitBreaker: { failureThreshold: 1, cooldownMs: 60_000 }, retry: { maxRetries: 3, baseDelayMs: 10 } });
    fake.setFault((r) => (r.model === 'model-a' ? { status: 502 } : null));
    const result = await tripped.generate(request());
    expect(result.engineId).toBe(ids.b);
    expect(models()).toEqual(['model-a', 'model-b']);
    expect(result.failedAttempts.map((f) => [f.attempt, f.outcome])).toEqual([[1, 'error'], [2, 'circuit_open']]);
    await tripped.flush();
  });
});

describe('the caller bounds the retries', () => {
  it('an abort stops a backoff wait at once', async () => {
    fake.setFault(() => ({ status: 429, retryAfter: 5 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job cancelled')), 150);
    const started = Date.now();
    await expect(switcher.generate(request({ signal: controller.signal }))).rejects.toThrow('job cancelled');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fake.requestCount).toBe(1);
  });

  it('no retry waits past the request’s deadline', async () => {
    fake.setFault((r) => (r.model === 'model-a' ? { status: 429, retryAfter: 1 } : null));
    const started = Date.now();
    const result = await switcher.generate(request({ deadline: Date.now() + 500 }));
    expect(Date.now() - started).toBeLessThan(500);
    expect(result.engineId).toBe(ids.b);
    expect(models()).toEqual(['model-a', 'model-b']);
  });

  it('a small budget (live suggestions): one retry, no wait longer than allowed', async () => {
    const live = { maxRetries: 1, maxBackoffMs: 250 };
    fake.setFault((r) => (r.model === 'model-a' ? { status: 503 } : null));
    const r1 = await switcher.generate(request({ retry: live }));
    expect(models()).toEqual(['model-a', 'model-a', 'model-b']);
    expect(r1.failedAttempts.map((f) => f.attempt)).toEqual([1, 2]);

    fake.resetStats();
    fake.setFault((r) => (r.model === 'model-a' ? { status: 429, retryAfter: 1 } : null));
    const started = Date.now();
    const r2 = await switcher.generate(request({ retry: live }));
    expect(Date.now() - started).toBeLessThan(900);
    expect(r2.engineId).toBe(ids.b);
    expect(models()).toEqual(['model-a', 'model-b']);
  });
});

describe('single flight', () => {
  it('concurrent misses of one prompt make one provider call; the others are zero-cost cache hits', async () => {
    fake.setLatency(150);
    const item = { text: 'one popular spam text' };
    const results = await Promise.all(Array.from({ length: 20 }, () => switcher.generate(request({ item }))));
    expect(fake.requestCount).toBe(1);
    expect(results.filter((r) => !r.cached)).toHaveLength(1);
    expect(new Set(results.map((r) => JSON.stringify(r.value))).size).toBe(1);
    const rows = await usage();
    expect(rows).toHaveLength(20);
    expect(rows.filter((r) => r.cached && r.cost_usd === '0.0000000000')).toHaveLength(19);
    expect(rows.filter((r) => !r.cached && Number(r.cost_usd) > 0)).toHaveLength(1);
  });

  it('when the leader’s call fails, the next goes alone: still one successful call for all', async () => {
    fake.setLatency(50);
    fake.setFault((r) => (r.index === 0 ? { status: 500 } : null));
    const item = { text: 'another popular spam text' };
    const results = await Promise.all(Array.from({ length: 10 }, () => switcher.generate(request({ item }))));
    expect(fake.requestCount).toBe(2); // the failed call and one more; nobody stampedes
    expect(results.filter((r) => !r.cached)).toHaveLength(1);
    expect(results.every((r) => r.engineId === ids.a)).toBe(true);
    expect((await usage()).map((u) => u.outcome).sort()).toEqual([...Array(10).fill("ok"), "error"].sort());
  });

  it('different prompts are not held back by each other', async () => {
    fake.setLatency(100);
    const started = Date.now();
    await Promise.all(Array.from({ length: 10 }, () => switcher.generate(request())));
    expect(fake.requestCount).toBe(10);
    expect(fake.maxInFlight).toBeGreaterThan(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
