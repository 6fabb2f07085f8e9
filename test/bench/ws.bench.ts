/**
 * WebSocket fan-out benchmark: S sockets subscribed to one project on one API instance; events
 * appended (outbox insert + pg_notify) by a separate producer process at a steady rate, then in
 * a burst from several concurrent connections. Prints delivery latency from just before the
 * insert to receipt by each client (p50/p99/max), and checks nothing was lost or repeated.
 * Target: p99 < 100 ms (printed, not asserted).
 *
 *   npm run bench:ws -- --sockets 1000 --events 200 --rate 50 --burst 500
 *
 * Three processes: this one runs the API and its hub; the clients run in a second (so their
 * parsing does not count as hub time); the producer is a third. All share one machine clock.
 */
import { execFile, spawn } from 'node:child_process';
import readline from 'node:readline';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { appendEvent } from '../../src/events/outbox';
import { createDatabase } from '../../src/db/knex';
import { startTestApi, tokenFor } from '../helpers/api';
import { createTestDatabase } from '../helpers/db';
import { seedProject } from '../helpers/seed';
import { TestWsClient } from '../helpers/ws-client';

const { values } = parseArgs({
  options: {
    sockets: { type: 'string', default: '1000' },
    events: { type: 'string', default: '200' },
    rate: { type: 'string', default: '50' },
    burst: { type: 'string', default: '500' },
    // internal: run as the producer process
    producer: { type: 'boolean', default: false },
    clients: { type: 'boolean', default: false },
    base: { type: 'string' },
    token: { type: 'string' },
    url: { type: 'string' },
    tenant: { type: 'string' },
    project: { type: 'string' },
    phase: { type: 'string', default: 'steady' },
    lanes: { type: 'string', default: '4' },
  },
});

const now = () => performance.timeOrigin + performance.now();

async function producer(): Promise<void> {
  const db = createDatabase({ databaseUrl: values.url!, dataDir: '.data', poolMax: Number(values.lanes) + 1 });
  const n = Number(values.events);
  const base = { tenantId: values.tenant!, projectId: values.project!, type: 'job.progress' as const };
  if (values.phase === 'steady') {
    const interval = 1000 / Number(values.rate);
    const start = now();
    for (let i = 0; i < n; i++) {
      const due = start + i * interval;
      const wait = due - now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await appendEvent(db, { ...base, payload: { i, t0: now() } });
    }
  } else {
    const lanes = Number(values.lanes);
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        for (let i = lane; i < n; i += lanes) await appendEvent(db, { ...base, payload: { i, t0: now() } });
      }),
    );
  }
  await db.destroy();
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * The client process: opens the sockets, subscribes, then answers commands on stdin:
 * `reset` clears, `report <n>` waits for n events per socket and prints the figures as JSON.
 */
async function clientsProcess(): Promise<void> {
  const S = Number(values.sockets);
  const clients: TestWsClient[] = [];
  for (let i = 0; i < S; i += 100) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(100, S - i) }, () => TestWsClient.connect(values.base!, values.token!)))));
  }
  await Promise.all(clients.map((c) => c.subscribe(values.project!)));
  let latencies: number[] = [];
  const ids = new Map<TestWsClient, string[]>();
  for (const c of clients) {
    ids.set(c, []);
    c.ws.removeAllListeners('message');
    c.ws.on('message', (data) => {
      const at = now();
      const m = JSON.parse(data.toString());
      if (m.type !== 'event' || typeof m.payload?.t0 !== 'number') return;
      latencies.push(at - m.payload.t0);
      ids.get(c)!.push(m.id);
    });
  }
  console.log(JSON.stringify({ ready: true }));
  for await (const line of readline.createInterface({ input: process.stdin })) {
    const [cmd, arg] = line.trim().split(' ');
    if (cmd === 'reset') {
      latencies = [];
      for (const list of ids.values()) list.length = 0;
      console.log(JSON.stringify({ reset: true }));
    } else if (cmd === 'report') {
      const n = Number(arg);
      const deadline = now() + 30_000;
      while (latencies.length < n * S && now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const sorted = latencies.sort((a, b) => a - b);
      const complete = [...ids.values()].every(
        (list) => list.length === n && new Set(list).size === n && list.every((id, i) => i === 0 || BigInt(id) > BigInt(list[i - 1])),
      );
      console.log(JSON.stringify({ received: sorted.length, p50: pct(sorted, 50), p99: pct(sorted, 99), max: sorted[sorted.length - 1], complete }));
    } else if (cmd === 'exit') {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      return;
    }
  }
}

async function main(): Promise<void> {
  const S = Number(values.sockets);
  const tdb = await createTestDatabase('anno_bench');
  const { tenantId, projectId } = await seedProject(tdb.db);
  const api = await startTestApi({ db: tdb.db });
  const token = tokenFor({ tenantId, sub: 'bench', roles: ['viewer'] });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', __filename, '--clients', '--base', api.baseUrl, '--token', token, '--project', projectId, '--sockets', String(S)],
    { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'silent' } },
  );
  const lines = readline.createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const reply = async (cmd?: string): Promise<Record<string, any>> => {
    if (cmd) child.stdin!.write(`${cmd}\n`);
    const { value, done } = await lines.next();
    if (done) throw new Error('client process ended');
    return JSON.parse(value);
  };
  try {
    const t = now();
    await reply();
    console.log(`${S} sockets connected and subscribed in ${((now() - t) / 1000).toFixed(2)} s (client process)`);

    const run = promisify(execFile);
    const phase = async (name: string, args: string[], events: number) => {
      await reply('reset');
      const started = now();
      await run(
        process.execPath,
        ['--import', 'tsx', __filename, '--producer', '--url', tdb.url, '--tenant', tenantId, '--project', projectId, '--events', String(events), ...args],
        { env: { ...process.env, LOG_LEVEL: 'silent' }, maxBuffer: 1 << 20 },
      );
      const r = await reply(`report ${events}`);
      const took = (now() - started) / 1000;
      console.log(
        `${name}: ${events} events × ${S} sockets = ${r.received}/${events * S} deliveries in ${took.toFixed(2)} s; ` +
          `latency p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms; ` +
          `every socket got every event once, in order: ${r.complete ? 'yes' : 'NO'}`,
      );
      return r.p99 as number;
    };

    const p99steady = await phase(`steady ${values.rate}/s`, ['--phase', 'steady', '--rate', String(values.rate)], Number(values.events));
    const p99burst = await phase('burst (4 producer connections, as fast as they go)', ['--phase', 'burst', '--lanes', '4'], Number(values.burst));
    const stats = (await (await api.request('/api/v1/annotation/ws/stats', { token })).json()) as Record<string, unknown>;
    console.log(`hub stats: ${JSON.stringify(stats)}`);
    console.log(`target p99 < 100 ms: steady ${p99steady < 100 ? 'met' : 'missed'}, burst ${p99burst < 100 ? 'met' : 'missed'}`);
  } finally {
    child.stdin!.write('exit\n');
    await new Promise((r) => child.once('exit', r));
    await api.close();
    await tdb.drop();
  }
}

(values.producer ? producer() : values.clients ? clientsProcess() : main()).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
