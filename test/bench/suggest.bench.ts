/**
 * Live suggestion benchmark: POST /api/v1/annotation/suggestion on the real API (HTTP, real
 * PostgreSQL) against the fake OpenAI-compatible server answering after a fixed latency.
 *
 *   npm run bench:suggest -- --requests 2000 --concurrency 8 --latency 20
 *
 * Three processes, as in production: the API (`--serve-api`), the fake provider
 * (`--serve-provider`) and this one, the load generator. Prints, for the cache off (every text
 * distinct), the endpoint's overhead — endpoint latency minus the provider call's latency as the
 * switcher measured it — and for cache hits (one text repeated) the endpoint latency, under two
 * kinds of load: closed loop, a fixed number of requests always in flight (`--concurrency`,
 * comma-separated; the highest level saturates the machine, so it shows throughput and queueing),
 * and open loop, requests arriving at a fixed rate whether or not earlier ones finished
 * (`--rates`, requests per second, comma-separated), as independent users arrive. Targets:
 * overhead p99 < 15 ms, cache hit p99 < 5 ms. The figures are printed, not asserted. `API_NODE_ARGS` adds node flags to the
 * API process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';
import { parseArgs } from 'node:util';
import { startTestApi, tokenFor } from '../helpers/api';
import { createTestDatabase } from '../helpers/db';
import { startFakeOpenAI } from '../helpers/fake-openai';
import { createDatabase } from '../../src/db/knex';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '1,8' },
    rates: { type: 'string', default: '100,200' },
    latency: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '300' },
    'serve-api': { type: 'boolean', default: false },
    'serve-provider': { type: 'boolean', default: false },
    'database-url': { type: 'string' },
  },
});
const N = Number(values.requests);
const LEVELS = values.concurrency.split(',').filter(Boolean).map(Number);
const RATES = values.rates.split(',').filter(Boolean).map(Number);
const L = Number(values.latency);
const WARMUP = Number(values.warmup);

/** A child process of this file in one role; it prints one JSON line when ready, then one per command. */
function spawnRole(args: string[], nodeArgs: string[] = []) {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', __filename, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, LOG_LEVEL: 'silent' },
  });
  // Read every line as it comes (a child blocked on a full stdout pipe would stall): JSON lines
  // are replies, anything else is node's own output (e.g. --trace-gc) and goes to stderr.
  const replies: Record<string, any>[] = [];
  const waiting: ((reply: Record<string, any> | null) => void)[] = [];
  const deliver = (reply: Record<string, any> | null) => {
    const next = waiting.shift();
    if (next) next(reply);
    else if (reply) replies.push(reply);
  };
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.startsWith('{')) deliver(JSON.parse(line));
    else process.stderr.write(`${line}\n`);
  });
  child.once('exit', () => {
    while (waiting.length) deliver(null);
  });
  return {
    async reply(cmd?: string): Promise<Record<string, any>> {
      if (cmd) child.stdin!.write(`${cmd}\n`);
      const reply = replies.shift() ?? (child.exitCode === null ? await new Promise<Record<string, any> | null>((r) => waiting.push(r)) : null);
      if (!reply) throw new Error(`${args[0]} process ended`);
      return reply;
    },
    /** Asks it to exit and waits (so a --cpu-prof profile is written). */
    async stop(): Promise<void> {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin!.end('exit\n');
      await exited;
    },
  };
}

/**
 * Serves until stdin says `exit`; `count` answers a figure (the fake provider's request count, the
 * API's memory), `cpu` the CPU time this process has used, in ms.
 */
async function serve(ready: Record<string, unknown>, count: () => number | string, close: () => Promise<void>, statements: () => number = () => 0): Promise<void> {
  console.log(JSON.stringify(ready));
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const cmd = line.trim();
    if (cmd === 'count') console.log(JSON.stringify({ count: count() }));
    if (cmd === 'cpu') {
      const { user, system } = process.cpuUsage();
      console.log(JSON.stringify({ cpuMs: (user + system) / 1000, statements: statements() }));
    }
    if (cmd === 'exit') break;
  }
  await close();
}

async function serveProvider(): Promise<void> {
  const fake = await startFakeOpenAI({ latencyMs: L, maxLog: 10 });
  await serve({ url: fake.baseUrl }, () => fake.requestCount, () => fake.close());
}

/** The API's live heap (after a full GC; the API process runs with --expose-gc) and its RSS, in MB. */
function heapAfterGcMb(): string {
  (globalThis as { gc?: () => void }).gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return `${Math.round(heapUsed / 1e6)} MB heap, ${Math.round(rss / 1e6)} MB RSS`;
}

async function serveApi(): Promise<void> {
  const db = createDatabase({ databaseUrl: values['database-url']!, dataDir: '.data' });
  // The API's per-user rate limit would throttle the load generator (one user).
  const api = await startTestApi({ db, env: { RATE_LIMIT_PER_MINUTE: '100000000' } });
  // Each statement is a round trip to PostgreSQL (BEGIN and COMMIT included): on a small machine
  // the wake-ups they cost are much of a request's CPU. BENCH_PRINT_SQL=1 prints each to stderr.
  let statements = 0;
  db.on('query', (q: { sql: string }) => {
    statements++;
    if (process.env.BENCH_PRINT_SQL) process.stderr.write(`sql: ${q.sql.replace(/\s+/g, ' ').slice(0, 160)}\n`);
  });
  await serve(
    { url: api.baseUrl },
    heapAfterGcMb,
    async () => {
      await api.close();
      await db.destroy();
    },
    () => statements,
  );
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

function summary(name: string, xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  const f = (n: number) => n.toFixed(2).padStart(7);
  return `${name.padEnd(46)} p50 ${f(percentile(s, 50))} ms   p99 ${f(percentile(s, 99))} ms   mean ${f(mean)} ms   max ${f(s[s.length - 1])} ms`;
}

/**
 * The same, inside the API (its X-Response-Time: from the parsed request to the response): what
 * the client saw beyond it is the network, the load generator and waiting for a CPU.
 */
function printServerSide(misses: { serverMs: number; providerMs: number }[], hits: { serverMs: number }[]): void {
  console.log(summary('  in the API: cache off overhead', misses.map((m) => m.serverMs - m.providerMs)));
  console.log(summary('  in the API: cache hit', hits.map((h) => h.serverMs)));
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

/**
 * Open loop: request i is sent at start + i/rate, whether or not earlier ones have finished; each
 * sample is timed from its scheduled send time, so a stalled server is not hidden by the
 * generator waiting for it (coordinated omission).
 */
async function loadAtRate<T extends { ms: number }>(count: number, rate: number, one: (i: number) => Promise<T>): Promise<{ samples: T[]; maxInFlight: number }> {
  const started = performance.now();
  const pending: Promise<void>[] = [];
  const samples: T[] = new Array(count);
  let inFlight = 0;
  let maxInFlight = 0;
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    pending.push(
      one(i).then((sample) => {
        inFlight--;
        samples[i] = { ...sample, ms: performance.now() - due };
      }),
    );
  }
  await Promise.all(pending);
  return { samples, maxInFlight };
}

/** A lean JSON POST over a keep-alive agent: the load generator should cost little CPU. */
function postJson(agent: http.Agent, url: string, token: string, json: unknown): Promise<{ status: number; body: any; serverMs: number }> {
  const payload = Buffer.from(JSON.stringify(json));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': payload.length, authorization: `Bearer ${token}` } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString('utf8')), serverMs: parseFloat(String(res.headers['x-response-time'])) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Round trips of this machine's PostgreSQL from this process at `concurrency`: SELECT 1, a one-row INSERT, and both in sequence. */
async function measureFloor(db: Awaited<ReturnType<typeof createTestDatabase>>['db'], count: number, concurrency: number) {
  await db.raw('CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, v int NOT NULL)');
  const timed = async (fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };
  const select = await load(count, concurrency, () => timed(() => db.raw('SELECT 1')));
  const insert = await load(count, concurrency, () => timed(() => db.raw('INSERT INTO bench_floor (v) VALUES (1)')));
  const both = await load(count, concurrency, () => timed(async () => (await db.raw('SELECT 1'), await db.raw('INSERT INTO bench_floor (v) VALUES (1)'))));
  return { select, insert, both };
}

async function main() {
  const tdb = await createTestDatabase('anno_bench');
  const provider = spawnRole(['--serve-provider', '--latency', String(L)]);
  const apiProcess = spawnRole(['--serve-api', '--database-url', tdb.url], ['--expose-gc', ...(process.env.API_NODE_ARGS?.split(' ').filter(Boolean) ?? [])]);
  const agent = new http.Agent({ keepAlive: true });
  try {
    const [{ url: fakeUrl }, { url: apiUrl }] = await Promise.all([provider.reply(), apiProcess.reply()]);
    const token = tokenFor({ tenantId: 'bench-tenant', sub: 'bench-user', roles: ['manager'] });
    const send = async (path: string, json: unknown) => {
      const res = await postJson(agent, `${apiUrl}/api/v1${path}`, token, json);
      if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res;
    };
    const post = async (path: string, json: unknown) => (await send(path, json)).body;
    const engine = await post('/annotation/engines', {
      name: 'fake-gpt',
      provider: 'openai',
      model: 'fake-gpt',
      base_url: fakeUrl,
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
      const { body, serverMs } = await send('/annotation/suggestion', { project_id: project.id, data: { text } });
      return { ms: performance.now() - t0, serverMs, providerMs: body.latency_ms as number, cached: body.cached as boolean };
    };

    console.log(`bench: ${N} requests per phase, provider latency ${L} ms, warm-up ${WARMUP}; API, fake provider and load generator in separate processes`);
    await load(WARMUP, Math.max(1, ...LEVELS), (i) => suggest(`warm-up text ${i}: this is positive`));
    await suggest('the very same text, positive');
    const heapBefore = (await apiProcess.reply('count')).count;
    let run = 0;
    for (const C of LEVELS) {
      // 1. Cache off: every text distinct, so every request calls the provider.
      const usage = async () => (await apiProcess.reply('cpu')) as { cpuMs: number; statements: number };
      const u0 = await usage();
      const t1 = performance.now();
      const misses = await load(N, C, (i) => suggest(`distinct text ${run}-${i}: the parcel was ${['great', 'awful', 'okay'][i % 3]}`));
      const missWall = performance.now() - t1;
      run++;
      const u1 = await usage();
      // 2. Cache hits: the one text answered before, repeated.
      const t2 = performance.now();
      const hits = await load(N, C, () => suggest('the very same text, positive'));
      const hitWall = performance.now() - t2;
      const u2 = await usage();
      const [cpu0, cpu1, cpu2] = [u0.cpuMs, u1.cpuMs, u2.cpuMs];

      console.log(`\nconcurrency ${C}:`);
      console.log(summary('  cache off: endpoint latency', misses.map((m) => m.ms)));
      console.log(summary('  cache off: provider call (switcher-measured)', misses.map((m) => m.providerMs)));
      console.log(summary('  cache off: overhead = endpoint − provider call', misses.map((m) => m.ms - m.providerMs)));
      console.log(summary('  cache hit: endpoint latency', hits.map((h) => h.ms)));
      printServerSide(misses, hits);
      console.log(
        `  throughput: cache off ${(N / (missWall / 1000)).toFixed(0)} req/s, cache hits ${(N / (hitWall / 1000)).toFixed(0)} req/s; ` +
          `distinct texts answered from cache: ${misses.filter((m) => m.cached).length}; repeats not from cache: ${hits.filter((h) => !h.cached).length}`,
      );
      console.log(`  API process CPU per request: cache off ${((cpu1 - cpu0) / N).toFixed(2)} ms, cache hit ${((cpu2 - cpu1) / N).toFixed(2)} ms`);
      console.log(`  PostgreSQL statements per request: cache off ${((u1.statements - u0.statements) / N).toFixed(2)}, cache hit ${((u2.statements - u1.statements) / N).toFixed(2)}`);
      // The machine's floor at the same concurrency: a bare SELECT 1, a bare one-row INSERT
      // (a durable commit), and the two in sequence (one read and one durable write, what a cache
      // hit needs at the least); the suggestion's figures as multiples of it.
      const floor = await measureFloor(tdb.db, N, C);
      const p99 = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 99);
      console.log(summary('  floor: SELECT 1 round trip', floor.select));
      console.log(summary('  floor: one-row INSERT (durable commit)', floor.insert));
      console.log(summary('  floor: SELECT 1 then INSERT', floor.both));
      console.log(
        `  as multiples of the floor's p99 (SELECT then INSERT): cache hit p99 ${(p99(hits.map((h) => h.ms)) / p99(floor.both)).toFixed(1)}x (target ≤ 2x), ` +
          `cache-off overhead p99 ${(p99(misses.map((m) => m.ms - m.providerMs)) / p99(floor.both)).toFixed(1)}x (target ≤ 3x)`,
      );
    }
    for (const rate of RATES) {
      const misses = await loadAtRate(N, rate, (i) => suggest(`open loop ${rate}-${i}: the parcel was ${['great', 'awful', 'okay'][i % 3]}`));
      const hits = await loadAtRate(N, rate, () => suggest('the very same text, positive'));
      console.log(`\nopen loop, ${rate} requests/s arriving (most in flight at once: ${misses.maxInFlight} cache off, ${hits.maxInFlight} cache hits):`);
      console.log(summary('  cache off: overhead = endpoint − provider call', misses.samples.map((m) => m.ms - m.providerMs)));
      console.log(summary('  cache hit: endpoint latency', hits.samples.map((h) => h.ms)));
      printServerSide(misses.samples, hits.samples);
    }
    console.log(`\nprovider requests: ${(await provider.reply('count')).count}`);
    console.log(`API memory after a full GC: ${heapBefore} after warm-up, ${(await apiProcess.reply('count')).count} at the end`);
    console.log('targets: overhead p99 < 15 ms, cache hit p99 < 5 ms; and against the floor, cache hit p99 ≤ 2x, cache-off overhead p99 ≤ 3x (printed, not asserted)');
  } finally {
    agent.destroy();
    await Promise.all([apiProcess.stop(), provider.stop()]);
    await tdb.drop();
  }
}

const role = values['serve-api'] ? serveApi : values['serve-provider'] ? serveProvider : main;
role().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
