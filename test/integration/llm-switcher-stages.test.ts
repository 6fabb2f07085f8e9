import crypto from 'node:crypto';
import { cacheKey, pruneLlmCache } from '../../src/llm/cache';
import { loadVisibleEngine } from '../../src/llm/engine-store';
import { buildMessages } from '../../src/llm/prompt';
import { createSwitcher, type Switcher } from '../../src/llm/switcher';
import { AllEnginesFailedError, type GenerateRequest, type ProjectContext } from '../../src/llm/types';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeAnthropic, type FakeAnthropic } from '../helpers/fake-anthropic';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';

/** Cache → rate limiter → circuit breaker → provider → parse → ledger, end to end. */

let tdb: TestDatabase;
let openai: FakeOpenAI;
let anthropic: FakeAnthropic;
let switcher: Switcher;

const T = 'stage-tenant';
const ids = { gpt: crypto.randomUUID(), nocache: crypto.randomUUID(), claude: crypto.randomUUID(), claudeCached: crypto.randomUUID() };
const project: ProjectContext = {
  tenantId: T,
  projectId: crypto.randomUUID(),
  labelSchema: { type: 'single_label', labels: ['spam', 'ham'] },
};
const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({ project, engineId: ids.gpt, item: { text: 'This is spam, buy now' }, ...over });
const usage = () => tdb.db('llm_usage').select('*').orderBy('id');
const engineRow = async (id: string) => (await loadVisibleEngine(tdb.db, T, id))!;

beforeAll(async () => {
  [tdb, openai, anthropic] = await Promise.all([createTestDatabase(), startFakeOpenAI(), startFakeAnthropic()]);
  process.env.ANNO_TEST_ANTHROPIC_KEY = 'sk-ant-test';
  await tdb.db('tenants').insert({ id: T });
  const row = (id: string, over: Record<string, unknown>) => ({
    id,
    tenant_id: T,
    name: id.slice(0, 8),
    price_input_per_1k: '0.003',
    price_output_per_1k: '0.015',
    ...over,
    params: JSON.stringify(over.params ?? {}),
  });
  await tdb.db('engines').insert([
    row(ids.gpt, { provider: 'openai', model: 'gpt-x', base_url: openai.baseUrl }),
    row(ids.nocache, { provider: 'openai', model: 'gpt-nocache', base_url: openai.baseUrl, params: { cache: false } }),
    row(ids.claude, { provider: 'anthropic', model: 'claude-x', base_url: anthropic.baseUrl, api_key_env: 'ANNO_TEST_ANTHROPIC_KEY', fallback_engine_ids: JSON.stringify([ids.gpt]) }),
    row(ids.claudeCached, { provider: 'anthropic', model: 'claude-c', base_url: anthropic.baseUrl, params: { cached_input_per_1k: '0.0003' } }),
  ]);
});

afterAll(async () => {
  await switcher?.flush(); // cache entries are written behind the answer: store them before the database goes
  await Promise.all([openai?.close(), anthropic?.close()]);
  await tdb?.drop();
});

beforeEach(async () => {
  openai.setFault(null);
  openai.resetStats();
  anthropic.setFault(null);
  anthropic.setCacheReadTokens(0);
  anthropic.requests.length = 0;
  await tdb.db('llm_usage').delete();
  await switcher?.flush(); // the last test's cache writes land before the table is emptied
  await tdb.db('llm_cache').delete();
  // No retries: these tests are about each stage once; llm-switcher-retries.test.ts retries.
  switcher = createSwitcher({ db: tdb.db, timeoutMs: 5000, circuitBreaker: { failureThreshold: 2, cooldownMs: 400 }, retry: { maxRetries: 0 } });
});

describe('cache', () => {
  it('answers a repeated prompt from the cache: marked cached, zero cost, one ledger row each', async () => {
    const first = await switcher.generate(request());
    const second = await switcher.generate(request());
    expect(first.cached).toBe(false);
    expect(second).toMatchObject({ value: first.value, confidence: first.confidence, engineId: ids.gpt, cached: true, costUsd: '0' });
    expect(second.usage).toEqual({ promptTokens: 0, completionTokens: 0, cachedTokens: 0 });
    expect(openai.requestCount).toBe(1);

    const rows = await usage();
    expect(rows.map((r) => [r.outcome, r.cached, r.cost_usd === '0.0000000000', r.prompt_tokens > 0])).toEqual([
      ['ok', false, false, true],
      ['ok', true, true, false],
    ]);
    await switcher.flush();
    const [entry] = await tdb.db('llm_cache').select('*');
    expect(entry).toMatchObject({ tenant_id: T, engine_id: ids.gpt, model: 'gpt-x', response_text: '{"label":"spam","confidence":0.9}' });
    expect(entry.key).toBe(cacheKey({ tenantId: T, projectId: project.projectId, engine: { id: ids.gpt, provider: 'openai', model: 'gpt-x', base_url: openai.baseUrl, params: {} }, messages: buildMessages({ project, item: { text: 'This is spam, buy now' } }), labelSchema: project.labelSchema }));
  });

  it('misses on another prompt, another project, after expiry, and with caching off; never caches failures', async () => {
    const calls = async (fn: () => Promise<unknown>) => {
      const before = openai.requestCount;
      await fn();
      return openai.requestCount - before;
    };
    expect(await calls(() => switcher.generate(request()))).toBe(1);
    expect(await calls(() => switcher.generate(request()))).toBe(0);
    expect(await calls(() => switcher.generate(request({ item: { text: 'ham sandwich for lunch' } })))).toBe(1);
    expect(await calls(() => switcher.generate(request({ project: { ...project, projectId: crypto.randomUUID() } })))).toBe(1);

    await switcher.flush(); // cache entries are written behind the answers
    await tdb.db('llm_cache').update({ expires_at: new Date(Date.now() - 1000) });
    expect(await calls(() => switcher.generate(request()))).toBe(1);

    expect(await calls(() => switcher.generate(request({ engineId: ids.nocache })))).toBe(1);
    expect(await calls(() => switcher.generate(request({ engineId: ids.nocache })))).toBe(1);
    expect(await tdb.db('llm_cache').where({ engine_id: ids.nocache })).toEqual([]);

    const disabled = createSwitcher({ db: tdb.db, timeoutMs: 5000, cacheTtlSeconds: 0 });
    expect(await calls(() => disabled.generate(request({ item: { text: 'uncached spam' } })))).toBe(1);
    expect(await calls(() => disabled.generate(request({ item: { text: 'uncached spam' } })))).toBe(1);

    openai.setFault(() => ({ status: 500 }));
    const item = { text: 'never seen before: spam?' };
    await expect(switcher.generate(request({ item }))).rejects.toBeInstanceOf(AllEnginesFailedError);
    openai.setFault(null);
    const after = await switcher.generate(request({ item }));
    expect(after.cached).toBe(false);
  });
});

describe('cache pruning', () => {
  it('deletes expired entries in batches and keeps live ones', async () => {
    const row = (key: string, expiresInMs: number) => ({
      key, tenant_id: T, engine_id: ids.gpt, model: 'gpt-x', response_text: '{}', expires_at: new Date(Date.now() + expiresInMs),
    });
    await tdb.db('llm_cache').insert([row('old-1', -1000), row('old-2', -5000), row('old-3', -1), row('live-1', 60_000), row('live-2', 3_600_000)]);
    expect(await pruneLlmCache(tdb.db, 2)).toBe(3);
    expect((await tdb.db('llm_cache').select('key').orderBy('key')).map((r) => r.key)).toEqual(['live-1', 'live-2']);
    expect(await pruneLlmCache(tdb.db)).toBe(0);
  });
});

describe('provider transport', () => {
  it('reuses connections to a provider (keep-alive)', async () => {
    const before = openai.connectionCount;
    for (let i = 0; i < 20; i++) await switcher.generate(request({ item: { text: `keep-alive ${i}: spam` } }));
    expect(openai.requestCount).toBe(20);
    expect(openai.connectionCount - before).toBeLessThanOrEqual(1);
  });
});

describe('cache in memory (the API’s switcher)', () => {
  it('answers repeats from memory without the table, fills memory from table hits, and forgets after maxAge', async () => {
    const inMemory = createSwitcher({ db: tdb.db, timeoutMs: 5000, memoryCacheEntries: 100, memoryCacheMaxAgeMs: 400 });
    const calls = async (s: Switcher, over: Partial<GenerateRequest> = {}) => {
      const before = openai.requestCount;
      const r = await s.generate(request(over));
      return { cached: r.cached, providerCalls: openai.requestCount - before };
    };
    expect(await calls(inMemory)).toEqual({ cached: false, providerCalls: 1 });
    await inMemory.flush();
    await tdb.db('llm_cache').delete(); // memory still holds the answer
    expect(await calls(inMemory)).toEqual({ cached: true, providerCalls: 0 });

    // Another process's answer in the table: read once, then from memory.
    const item = { text: 'cached by another process: spam' };
    expect(await calls(switcher, { item })).toEqual({ cached: false, providerCalls: 1 });
    await switcher.flush();
    expect(await calls(inMemory, { item })).toEqual({ cached: true, providerCalls: 0 });
    await tdb.db('llm_cache').delete();
    expect(await calls(inMemory, { item })).toEqual({ cached: true, providerCalls: 0 });

    await new Promise((r) => setTimeout(r, 450)); // past maxAge: the table decides again (empty)
    expect(await calls(inMemory, { item })).toEqual({ cached: false, providerCalls: 1 });
    // Every hit, from memory or not, is a zero-cost ledger row.
    expect((await usage()).map((r) => [r.cached, r.cost_usd === '0.0000000000'])).toEqual([
      [false, false], [true, true], [false, false], [true, true], [true, true], [false, false],
    ]);
  });
});

describe('rate limiting', () => {
  it('respects a 429 Retry-After: the next call to that engine waits', async () => {
    openai.setFault((r) => (r.index === 0 ? { status: 429, retryAfter: 1 } : null));
    const err = await switcher.generate(request()).catch((e) => e);
    expect(err).toBeInstanceOf(AllEnginesFailedError);
    expect(err.attempts[0].reason).toMatch(/^rate_limited: http 429 \(retry after 1s\)/);
    expect(switcher.rateLimiter.pausedForMs(ids.gpt)).toBeGreaterThan(800);

    const started = Date.now();
    const ok = await switcher.generate(request());
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(ok.engineId).toBe(ids.gpt);
    expect(openai.requests[1].receivedAt - openai.requests[0].receivedAt).toBeGreaterThanOrEqual(900);
    expect((await usage()).map((r) => r.outcome)).toEqual(['rate_limited', 'ok']);
  });

  it('holds calls to the engine’s requests-per-minute', async () => {
    await tdb.db('engines').where({ id: ids.nocache }).update({ rate_limit: JSON.stringify({ rpm: 2 }) });
    try {
      await switcher.generate(request({ engineId: ids.nocache }));
      await switcher.generate(request({ engineId: ids.nocache }));
      const controller = new AbortController();
      const third = switcher.generate(request({ engineId: ids.nocache, signal: controller.signal }));
      await new Promise((r) => setTimeout(r, 300));
      expect(openai.requestCount).toBe(2);
      expect(switcher.rateLimiter.waiting(ids.nocache)).toBe(1);
      controller.abort(new Error('gave up waiting'));
      await expect(third).rejects.toThrow('gave up waiting');
      expect(openai.requestCount).toBe(2);
    } finally {
      await tdb.db('engines').where({ id: ids.nocache }).update({ rate_limit: null });
    }
  });
});

describe('circuit breaker', () => {
  it('opens after consecutive failures, skips the engine without calling it, and probes after the cool-down', async () => {
    openai.setFault(() => ({ status: 502 }));
    for (let i = 0; i < 2; i++) await switcher.generate(request({ item: { text: `spam ${i}` } })).catch(() => undefined);
    expect(switcher.circuitBreaker.state(ids.gpt)).toBe('open');

    const err = await switcher.generate(request({ item: { text: 'spam 2' } })).catch((e) => e);
    expect(err.attempts).toEqual([{ engineId: ids.gpt, attempt: 1, outcome: 'circuit_open', reason: expect.stringMatching(/^circuit_open: 2 consecutive failures/) }]);
    expect(openai.requestCount).toBe(2);
    expect(await usage()).toHaveLength(2); // no call, no ledger row

    openai.setFault(null);
    await new Promise((r) => setTimeout(r, 450));
    const probe = await switcher.generate(request({ item: { text: 'spam 3' } }));
    expect(probe.engineId).toBe(ids.gpt);
    expect(switcher.circuitBreaker.state(ids.gpt)).toBe('closed');
  });
});

describe('health probe', () => {
  it('calls the engine past an open circuit and its cache, writes its ledger row, and never moves the breaker', async () => {
    openai.setFault(() => ({ status: 502 }));
    for (let i = 0; i < 3; i++) {
      const failed = await switcher.probe(await engineRow(ids.gpt), { tenantId: T });
      expect(failed).toEqual({ ok: false, reason: expect.stringMatching(/http 502/), latencyMs: expect.any(Number) });
    }
    expect(switcher.circuitBreaker.state(ids.gpt)).toBe('closed'); // a probe is not traffic

    for (let i = 0; i < 2; i++) switcher.circuitBreaker.onFailure(ids.gpt);
    expect(switcher.circuitBreaker.state(ids.gpt)).toBe('open');
    openai.setFault(null);
    const before = openai.requestCount;
    for (let i = 0; i < 2; i++) expect(await switcher.probe(await engineRow(ids.gpt), { tenantId: T })).toEqual({ ok: true, latencyMs: expect.any(Number) });
    expect(openai.requestCount).toBe(before + 2); // not refused, not cached
    expect(switcher.circuitBreaker.state(ids.gpt)).toBe('open');
    switcher.circuitBreaker.onSuccess(ids.gpt);

    const rows = await usage();
    expect(rows.map((r) => [r.outcome, r.state, r.project_id, r.tenant_id])).toEqual([
      ...Array(3).fill(['error', 'settled', null, T]),
      ...Array(2).fill(['ok', 'settled', null, T]),
    ]);
    expect(rows[0].error).toMatch(/^http_5xx: /);
  });
});

describe('anthropic provider', () => {
  it('calls the Messages API with the system prompt, structured output and key; exact cost', async () => {
    const result = await switcher.generate(request({ engineId: ids.claude }));
    expect(result).toMatchObject({ value: { label: 'spam' }, confidence: 0.9, engineId: ids.claude, model: 'claude-x', cached: false });
    const [received] = anthropic.requests;
    expect(received.apiKey).toBe('sk-ant-test');
    expect(received.body.temperature).toBe(0);
    expect(received.system).toContain('Labels: ["spam","ham"]');
    expect(received.messages).toEqual([{ role: 'user', content: 'This is spam, buy now' }]);
    expect(received.body.output_config.format.schema.properties.label.enum).toEqual(['spam', 'ham']);

    const promptTokens = Math.ceil((received.system.length + 'This is spam, buy now'.length) / 4);
    const completionTokens = Math.ceil('{"label":"spam","confidence":0.9}'.length / 4);
    expect(result.usage).toEqual({ promptTokens, completionTokens, cachedTokens: 0 });
    // 0.003 and 0.015 per 1k: cost in units of 1e-6 USD is prompt*3 + completion*15.
    const micro = promptTokens * 3 + completionTokens * 15;
    const [row] = await usage();
    expect(row.cost_usd).toBe((micro / 1e6).toFixed(10));
    expect(row).toMatchObject({ engine_id: ids.claude, model: 'claude-x', outcome: 'ok', prompt_tokens: promptTokens });
  });

  it('bills cache-read prompt tokens at the cached price', async () => {
    anthropic.setCacheReadTokens(40);
    const result = await switcher.generate(request({ engineId: ids.claudeCached }));
    const { promptTokens, completionTokens, cachedTokens } = result.usage;
    expect(cachedTokens).toBe(40);
    // (prompt-40)*0.003 + 40*0.0003 + completion*0.015, per 1k; in units of 1e-7 USD:
    const units = (promptTokens - 40) * 30 + 40 * 3 + completionTokens * 150;
    expect((await usage())[0].cost_usd).toBe((units / 1e7).toFixed(10));
  });

  it('classifies 529 and 429 and fails over to the fallback', async () => {
    anthropic.setFault(() => ({ status: 529 }));
    const r = await switcher.generate(request({ engineId: ids.claude }));
    expect(r.engineId).toBe(ids.gpt);
    expect(r.failedAttempts).toEqual([{ engineId: ids.claude, attempt: 1, outcome: 'error', reason: 'http_5xx: http 529: fake upstream error 529' }]);

    anthropic.setFault(() => ({ status: 429, retryAfter: 30 }));
    const r2 = await switcher.generate(request({ engineId: ids.claude, item: { text: 'ham again' } }));
    expect(r2.failedAttempts[0].reason).toMatch(/^rate_limited: http 429 \(retry after 30s\): fake upstream error 429/);
    expect((await usage()).map((u) => [u.engine_id, u.outcome])).toEqual([
      [ids.claude, 'error'],
      [ids.gpt, 'ok'],
      [ids.claude, 'rate_limited'],
      [ids.gpt, 'ok'],
    ]);
  });

  it('treats an off-schema label as invalid_output', async () => {
    anthropic.setFault(() => ({ label: 'eggs' }));
    const r = await switcher.generate(request({ engineId: ids.claude }));
    expect(r.failedAttempts).toEqual([{ engineId: ids.claude, attempt: 1, outcome: 'invalid_output', reason: 'invalid_output: label "eggs" is not in the label set' }]);
  });
});
