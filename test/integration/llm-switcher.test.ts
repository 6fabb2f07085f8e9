import crypto from 'node:crypto';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../src/llm/builtin-engines';
import { ENV_OPENAI_ENGINE_ID, registerEnvironmentEngine } from '../../src/llm/env-engine';
import { createSwitcher, type Switcher } from '../../src/llm/switcher';
import { AllEnginesFailedError, type GenerateRequest, type ProjectContext } from '../../src/llm/types';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';

let tdb: TestDatabase;
let fake: FakeOpenAI;
let switcher: Switcher;

const T1 = 'tenant-one';
const T2 = 'tenant-two';
const ids = {
  a: crypto.randomUUID(),
  b: crypto.randomUUID(),
  c: crypto.randomUUID(),
  disabled: crypto.randomUUID(),
  slow: crypto.randomUUID(),
  other: crypto.randomUUID(),
  plain: crypto.randomUUID(),
};
const projectId = crypto.randomUUID();
const jobId = crypto.randomUUID();

const project: ProjectContext = {
  tenantId: T1,
  projectId,
  labelSchema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] },
  guidelines: 'Label complaints as negative and praise as positive.',
  examples: [
    { text: 'I love it, excellent', value: { label: 'positive' } },
    { text: 'It broke, terrible', value: { label: 'negative' } },
  ],
};

const request = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  project,
  engineId: ids.a,
  item: { id: crypto.randomUUID(), text: 'Overall a negative experience with the courier' },
  jobId,
  ...over,
});

async function usageRows() {
  return tdb.db('llm_usage').select('*').orderBy('id');
}

beforeAll(async () => {
  [tdb, fake] = await Promise.all([createTestDatabase(), startFakeOpenAI()]);
  process.env.ANNO_TEST_KEY_A = 'sk-test-key-a';
  await tdb.db('tenants').insert([{ id: T1 }, { id: T2 }]);
  const engine = (id: string, over: Record<string, unknown>) => ({
    id,
    tenant_id: T1,
    provider: 'openai',
    base_url: fake.baseUrl,
    price_input_per_1k: '0.0015',
    price_output_per_1k: '0.002',
    ...over,
    params: JSON.stringify(over.params ?? {}),
    fallback_engine_ids: JSON.stringify(over.fallback_engine_ids ?? []),
  });
  await tdb.db('engines').insert([
    engine(ids.a, { name: 'a', model: 'model-a', api_key_env: 'ANNO_TEST_KEY_A', fallback_engine_ids: [ids.b] }),
    engine(ids.b, { name: 'b', model: 'model-b', price_input_per_1k: '0.0005', price_output_per_1k: '0.0015' }),
    engine(ids.c, { name: 'c', model: 'model-c' }),
    engine(ids.disabled, { name: 'off', model: 'model-off', enabled: false }),
    engine(ids.slow, { name: 'slow', model: 'model-slow', params: { timeout_ms: 300 } }),
    engine(ids.plain, { name: 'plain', model: 'model-plain', params: { structured_output: false } }),
    { ...engine(ids.other, { name: 'theirs', model: 'model-theirs' }), tenant_id: T2 },
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
  await tdb.db('llm_usage').delete();
  await switcher?.flush(); // the last test's cache writes land before the table is emptied
  await tdb.db('llm_cache').delete();
  // A fresh switcher per test: no breaker, limiter or Retry-After state carried across tests.
  // No retries: these tests are about failover; llm-switcher-retries.test.ts retries.
  switcher = createSwitcher({ db: tdb.db, timeoutMs: 5000, retry: { maxRetries: 0 } });
});

/** cost = tokens/1000 * price, computed here with integers at a fixed scale of 10 decimals. */
function expectedCost(prompt: number, completion: number, inPer1k: bigint, outPer1k: bigint): string {
  // prices given in units of 1e-10 USD per 1k tokens; result scaled by 1e13, exact for these inputs
  const units = BigInt(prompt) * inPer1k + BigInt(completion) * outPer1k; // scale 1e13
  if (units % 1000n !== 0n) throw new Error('choose inputs exact at 10 decimals');
  const s = (units / 1000n).toString().padStart(11, '0');
  return `${s.slice(0, -10)}.${s.slice(-10)}`;
}

describe('LLM switcher against a real HTTP server and PostgreSQL', () => {
  it('answers from the first engine and writes one ledger row with the exact cost', async () => {
    const result = await switcher.generate(request());
    expect(result.value).toEqual({ label: 'negative' });
    expect(result.confidence).toBe(0.9);
    expect(result.engineId).toBe(ids.a);
    expect(result.model).toBe('model-a');
    expect(result.cached).toBe(false);
    expect(result.failedAttempts).toEqual([]);

    // What the server actually received.
    expect(fake.requests).toHaveLength(1);
    const received = fake.requests[0];
    expect(received.model).toBe('model-a');
    expect(received.body.temperature).toBe(0);
    expect(received.body.response_format.type).toBe('json_schema');
    expect(received.body.response_format.json_schema.schema.properties.label.enum).toEqual(['positive', 'negative', 'neutral']);
    expect(received.lastUserText).toBe('Overall a negative experience with the courier');
    expect(received.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user', 'assistant', 'user']);
    expect(received.headers.authorization).toBe('Bearer sk-test-key-a');

    const chars = received.messages.reduce((n, m) => n + m.content.length, 0);
    const promptTokens = Math.ceil(chars / 4);
    const completionTokens = Math.ceil('{"label":"negative","confidence":0.9}'.length / 4);
    expect(result.usage).toEqual({ promptTokens, completionTokens, cachedTokens: 0 });

    const rows = await usageRows();
    expect(rows).toHaveLength(1);
    const cost = expectedCost(promptTokens, completionTokens, 15_000_000n, 20_000_000n);
    expect(rows[0]).toMatchObject({
      tenant_id: T1,
      project_id: projectId,
      job_id: jobId,
      engine_id: ids.a,
      model: 'model-a',
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      cached_tokens: 0,
      cost_usd: cost,
      outcome: 'ok',
      error: null,
      cached: false,
    });
    expect(Number(rows[0].cost_usd)).toBeGreaterThan(0);
    // The result's cost is the same decimal, without trailing zeros.
    expect(result.costUsd).toBe(cost.replace(/0+$/, ''));
    expect(rows[0].latency_ms).toBe(result.latencyMs);
  });

  it('fails over to the engine’s fallback on a 500 and records why', async () => {
    fake.setFault((req) => (req.model === 'model-a' ? { status: 500, body: { error: { message: 'upstream exploded' } } } : null));
    const result = await switcher.generate(request());
    expect(result.engineId).toBe(ids.b);
    expect(result.model).toBe('model-b');
    expect(result.value).toEqual({ label: 'negative' });
    expect(result.failedAttempts).toEqual([{ engineId: ids.a, attempt: 1, outcome: 'error', reason: 'http_5xx: http 500: upstream exploded' }]);
    expect(fake.requests.map((r) => r.model)).toEqual(['model-a', 'model-b']);

    const rows = await usageRows();
    expect(rows.map((r) => [r.engine_id, r.outcome])).toEqual([
      [ids.a, 'error'],
      [ids.b, 'ok'],
    ]);
    expect(rows[0].error).toBe('http 500: upstream exploded');
    expect(rows[0].cost_usd).toBe('0.0000000000');
    expect(Number(rows[1].cost_usd)).toBeGreaterThan(0);
  });

  it('throws AllEnginesFailedError with every reason, in route order', async () => {
    fake.setFault((req) => {
      if (req.model === 'model-a') return { status: 503 };
      if (req.model === 'model-b') return { status: 429, retryAfter: 7 };
      if (req.model === 'model-slow') return 'timeout';
      if (req.model === 'model-c') return 'malformed';
      return null;
    });
    const unknown = crypto.randomUUID();
    const err = await switcher
      .generate(request({ fallbackEngineIds: [ids.disabled, unknown, 'not-a-uuid', ids.slow, ids.c, ids.b] }))
      .catch((e) => e);
    expect(err).toBeInstanceOf(AllEnginesFailedError);
    const attempts = (err as AllEnginesFailedError).attempts;
    expect(attempts.map((a) => a.engineId)).toEqual([ids.a, ids.b, ids.disabled, unknown, 'not-a-uuid', ids.slow, ids.c]);
    expect(attempts[0].reason).toBe('http_5xx: http 503: fake upstream error 503');
    expect(attempts[1].reason).toMatch(/^rate_limited: http 429 \(retry after 7s\)/);
    expect(attempts[2].reason).toMatch(/^disabled/);
    expect(attempts[3].reason).toMatch(/^not_found/);
    expect(attempts[4].reason).toMatch(/^not_found/);
    expect(attempts[5].reason).toBe('timeout: no answer within 300ms');
    expect(attempts[6].reason).toMatch(/^invalid_output: /);
    expect((err as Error).message).toContain(ids.slow);

    const rows = await usageRows();
    expect(rows.map((r) => [r.engine_id, r.outcome])).toEqual([
      [ids.a, 'error'],
      [ids.b, 'rate_limited'],
      [ids.slow, 'timeout'],
      [ids.c, 'invalid_output'],
    ]);
    // The model answered (badly) and its tokens were billed.
    expect(rows[3].prompt_tokens).toBeGreaterThan(0);
    expect(Number(rows[3].cost_usd)).toBeGreaterThan(0);
  });

  it('treats an off-schema label as invalid_output and fails over', async () => {
    fake.setFault((req) => (req.model === 'model-a' ? { label: 'sarcastic', confidence: 0.99 } : null));
    const result = await switcher.generate(request());
    expect(result.engineId).toBe(ids.b);
    expect(result.failedAttempts).toEqual([{ engineId: ids.a, attempt: 1, outcome: 'invalid_output', reason: 'invalid_output: label "sarcastic" is not in the label set' }]);
    const rows = await usageRows();
    expect(rows.map((r) => r.outcome)).toEqual(['invalid_output', 'ok']);
    expect(rows[0].error).toBe('label "sarcastic" is not in the label set');
  });

  it('honours the timeout and falls back to the built-in local engine at no cost', async () => {
    fake.setFault(() => 'timeout');
    const fast = createSwitcher({ db: tdb.db, timeoutMs: 250, retry: { maxRetries: 0 } });
    const started = Date.now();
    const result = await fast.generate(request({ engineId: ids.c, fallbackEngineIds: [BUILTIN_LOCAL_ENGINE_ID] }));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(3000);
    expect(result.failedAttempts).toEqual([{ engineId: ids.c, attempt: 1, outcome: 'timeout', reason: 'timeout: no answer within 250ms' }]);
    expect(result.engineId).toBe(BUILTIN_LOCAL_ENGINE_ID);
    expect(result.model).toBe('naive-bayes-v1');
    expect(result.value).toEqual({ label: 'negative' });
    expect(result.costUsd).toBe('0');
    expect(result.usage).toEqual({ promptTokens: 0, completionTokens: 0, cachedTokens: 0 });

    const rows = await usageRows();
    expect(rows.map((r) => [r.engine_id, r.outcome, r.cost_usd, r.prompt_tokens])).toEqual([
      [ids.c, 'timeout', '0.0000000000', 0],
      [BUILTIN_LOCAL_ENGINE_ID, 'ok', '0.0000000000', 0],
    ]);
    expect(rows[0].latency_ms).toBeGreaterThanOrEqual(240);
  });

  it('never uses an engine of another tenant', async () => {
    const err = await switcher.generate(request({ engineId: ids.other })).catch((e) => e);
    expect(err).toBeInstanceOf(AllEnginesFailedError);
    expect((err as AllEnginesFailedError).attempts).toEqual([{ engineId: ids.other, attempt: 1, outcome: 'not_found', reason: 'not_found: no such engine' }]);
    expect(fake.requestCount).toBe(0);
    expect(await usageRows()).toEqual([]);

    // The owner can use it.
    const theirs = await switcher.generate(request({ engineId: ids.other, project: { ...project, tenantId: T2 } }));
    expect(theirs.engineId).toBe(ids.other);
    expect(fake.requests.map((r) => r.model)).toEqual(['model-theirs']);
  });

  it('reports an unreachable server as a connection error and fails over', async () => {
    const dead = crypto.randomUUID();
    await tdb.db('engines').insert({ id: dead, tenant_id: T1, name: 'dead', provider: 'openai', model: 'model-dead', base_url: 'http://127.0.0.1:1/v1' });
    const result = await switcher.generate(request({ engineId: dead, fallbackEngineIds: [ids.b] }));
    expect(result.engineId).toBe(ids.b);
    expect(result.failedAttempts).toEqual([{ engineId: dead, attempt: 1, outcome: 'error', reason: expect.stringMatching(/^connection_failed: /) }]);
    expect((await usageRows()).map((r) => [r.engine_id, r.outcome])).toEqual([
      [dead, 'error'],
      [ids.b, 'ok'],
    ]);
  });

  it('works without structured output, reading the labels from the prompt', async () => {
    const result = await switcher.generate(request({ engineId: ids.plain, item: { text: 'Quite NEUTRAL about it' } }));
    expect(result.value).toEqual({ label: 'neutral' });
    expect(fake.requests[0].body.response_format).toBeUndefined();
    expect(fake.requests[0].headers.authorization).toBe('Bearer not-needed');
  });

  it('answers multi_label projects', async () => {
    const multi: ProjectContext = { ...project, labelSchema: { type: 'multi_label', labels: ['billing', 'bug', 'shipping'] }, examples: [] };
    const result = await switcher.generate(request({ project: multi, engineId: ids.b, item: { text: 'A billing bug on my invoice' } }));
    expect(result.value).toEqual({ labels: ['billing', 'bug'] });
    expect(fake.requests[0].body.response_format.json_schema.schema.properties.labels.items.enum).toEqual(['billing', 'bug', 'shipping']);
  });

  it('stops at once, without failover, when the caller aborts', async () => {
    fake.setLatency(2000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('job cancelled')), 100);
    const started = Date.now();
    await expect(switcher.generate(request({ signal: controller.signal }))).rejects.toThrow('job cancelled');
    expect(Date.now() - started).toBeLessThan(1500);
    expect(fake.requests.map((r) => r.model)).toEqual(['model-a']);
    const rows = await usageRows();
    expect(rows.map((r) => [r.engine_id, r.outcome, r.error])).toEqual([[ids.a, 'error', 'aborted by caller']]);
  });

  it('registers the environment engine idempotently and calls it with OPENAI_API_KEY', async () => {
    expect(await registerEnvironmentEngine(tdb.db, { OPENAI_BASE_URL: fake.baseUrl, OPENAI_MODEL: 'env-model' })).toBe(ENV_OPENAI_ENGINE_ID);
    expect(await registerEnvironmentEngine(tdb.db, { OPENAI_BASE_URL: fake.baseUrl, OPENAI_MODEL: 'env-model-2' })).toBe(ENV_OPENAI_ENGINE_ID);
    const rows = await tdb.db('engines').where({ name: 'openai-env' });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: ENV_OPENAI_ENGINE_ID, tenant_id: null, provider: 'openai', model: 'env-model-2', base_url: fake.baseUrl, api_key_env: 'OPENAI_API_KEY', enabled: true });

    const previous = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = 'sk-env-key';
    try {
      const result = await switcher.generate(request({ engineId: ENV_OPENAI_ENGINE_ID, project: { ...project, tenantId: T2 } }));
      expect(result.engineId).toBe(ENV_OPENAI_ENGINE_ID);
      expect(fake.requests[0].model).toBe('env-model-2');
      expect(fake.requests[0].headers.authorization).toBe('Bearer sk-env-key');
    } finally {
      if (previous === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = previous;
    }

    expect(await registerEnvironmentEngine(tdb.db, { OPENAI_BASE_URL: undefined, OPENAI_MODEL: undefined })).toBeNull();
    expect((await tdb.db('engines').where({ id: ENV_OPENAI_ENGINE_ID }).first()).enabled).toBe(false);
  });
});
