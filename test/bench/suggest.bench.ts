/**
 * Live suggestion benchmark: POST /api/v1/annotation/suggestion on the real API (HTTP, real
 * PostgreSQL) against the fake OpenAI-compatible server answering after a fixed latency.
 *
 *   npm run bench:suggest -- --requests 2000 --concurrency 8 --latency 20
 *
 * Prints, for the cache off (every text distinct) the endpoint's overhead — endpoint latency
 * minus the provider call's latency as the switcher measured it (and minus the fixed fake
 * latency) — and for cache hits (one text repeated) the endpoint latency. Targets: overhead
 * p99 < 15 ms, cache hit p99 < 5 ms. The figures are printed, not asserted. The load generator
 * runs in the same process as the API (as on a developer machine), so it competes for the CPU.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startTestApi, tokenFor } from '../helpers/api';
import { createTestDatabase } from '../helpers/db';
import { startFakeOpenAI } from '../helpers/fake-openai';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    latency: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '100' },
  },
});
const N = Number(values.requests);
const C = Number(values.concurrency);
const L = Number(values.latency);
const WARMUP = Number(values.warmup);

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function summary(name: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  const f = (n: number) => n.toFixed(2).padStart(7);
  return `${name.padEnd(44)} p50 ${f(percentile(s, 50))} ms   p99 ${f(percentile(s, 99))} ms   mean ${f(mean)} ms   max ${f(s[s.length - 1])} ms   (n=${s.length})`;
}

/** Runs `count` requests with at most `concurrency` in flight; returns one sample per request. */
async function load<T>(count: number, concurrency: number, one: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await one(i);
      }
    }),
  );
  return out;
}

async function main() {
  const [tdb, fake] = await Promise.all([createTestDatabase('anno_bench'), startFakeOpenAI({ latencyMs: L, maxLog: 10 })]);
  // The API's per-user rate limit would throttle the load generator (one user).
  const api = await startTestApi({ db: tdb.db, env: { RATE_LIMIT_PER_MINUTE: '100000000' } });
  try {
    const token = tokenFor({ tenantId: 'bench-tenant', sub: 'bench-user', roles: ['manager'] });
    const post = async (path: string, json: unknown) => {
      const res = await api.request(`/api/v1${path}`, { method: 'POST', token, json });
      const body = (await res.json()) as any;
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
      return body;
    };
    const engine = await post('/annotation/engines', {
      name: 'fake-gpt',
      provider: 'openai',
      model: 'fake-gpt',
      base_url: fake.baseUrl,
      price: { input_per_1k: '0.0015', output_per_1k: '0.002' },
    });
    const project = await post('/projects', {
      name: 'Bench',
      label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] },
      routing: { default_engine_id: engine.id },
    });
    // A few gold examples, as a real project would have.
    await post(`/projects/${project.id}/items`, {
      items: ['great and positive', 'awful and negative', 'okay and neutral'].map((text, i) => ({ data: { text }, gold_label: { label: ['positive', 'negative', 'neutral'][i] } })),
    });

    const suggest = async (text: string) => {
      const t0 = performance.now();
      const res = await api.request('/api/v1/annotation/suggestion', { method: 'POST', token, json: { project_id: project.id, data: { text } } });
      const body = (await res.json()) as any;
      const ms = performance.now() - t0;
      if (res.status !== 200) throw new Error(`suggestion: ${res.status} ${JSON.stringify(body)}`);
      return { ms, providerMs: body.latency_ms as number, cached: body.cached as boolean };
    };

    console.log(`bench: ${N} requests per phase, concurrency ${C}, provider latency ${L} ms, warm-up ${WARMUP}`);
    await load(WARMUP, C, (i) => suggest(`warm-up text ${i}: this is positive`));

    // 1. Cache off: every text distinct, so every request calls the provider.
    const t1 = performance.now();
    const misses = await load(N, C, (i) => suggest(`distinct text ${i}: the parcel was ${['great', 'awful', 'okay'][i % 3]}`));
    const missWall = performance.now() - t1;
    if (misses.some((m) => m.cached)) console.warn('warning: some distinct texts were cache hits');

    // 2. Cache hits: one text, answered once, then repeated.
    await suggest('the very same text, positive');
    const t2 = performance.now();
    const hits = await load(N, C, () => suggest('the very same text, positive'));
    const hitWall = performance.now() - t2;
    const notCached = hits.filter((h) => !h.cached).length;

    console.log('');
    console.log(summary('cache off: endpoint latency', misses.map((m) => m.ms)));
    console.log(summary('cache off: provider call (switcher-measured)', misses.map((m) => m.providerMs)));
    console.log(summary('cache off: overhead = endpoint − provider call', misses.map((m) => m.ms - m.providerMs)));
    console.log(summary(`cache off: overhead = endpoint − ${L} ms fixed`, misses.map((m) => m.ms - L)));
    console.log(summary('cache hit: endpoint latency', hits.map((h) => h.ms)));
    console.log('');
    console.log(`throughput: cache off ${(N / (missWall / 1000)).toFixed(0)} req/s, cache hits ${(N / (hitWall / 1000)).toFixed(0)} req/s; provider requests ${fake.requestCount}; hits not cached: ${notCached}`);
    console.log('targets: overhead p99 < 15 ms, cache hit p99 < 5 ms (printed, not asserted)');
  } finally {
    await api.close();
    await fake.close();
    await tdb.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
