import type { Knex } from 'knex';
import { appendEvent } from '../../src/events/outbox';
import { createDatabase } from '../../src/db/knex';
import { TestApi, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { seedProject } from '../helpers/seed';
import { TestWsClient } from '../helpers/ws-client';

let tdb: TestDatabase;
let api: TestApi;
let api2: TestApi;
let worker: Knex;
let tenant: string;
let project: string;
let otherProject: string;
let otherTenant: string;
let otherTenantProject: string;
const clients: TestWsClient[] = [];

const token = (sub = 'alice') => tokenFor({ tenantId: tenant, sub, roles: ['annotator'] });
const connect = async (base: TestApi, sub?: string) => {
  const c = await TestWsClient.connect(base.baseUrl, token(sub));
  clients.push(c);
  return c;
};

beforeAll(async () => {
  tdb = await createTestDatabase();
  ({ tenantId: tenant, projectId: project } = await seedProject(tdb.db));
  ({ projectId: otherProject } = await seedProject(tdb.db, { tenantId: tenant }));
  ({ tenantId: otherTenant, projectId: otherTenantProject } = await seedProject(tdb.db));
  api = await startTestApi({ db: tdb.db, ws: { replayPageSize: 50 } });
  api2 = await startTestApi({ db: tdb.db });
  // The producer is a separate pool, as a worker process would be.
  worker = createDatabase({ databaseUrl: tdb.url, dataDir: '.data', poolMax: 6 });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await worker?.destroy();
  await api?.close();
  await api2?.close();
  await tdb?.drop();
});

const ids = (c: TestWsClient) => c.events(project).map((m) => BigInt(m.id));
const increasing = (xs: bigint[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]);

describe('replay and the seam', () => {
  it('loses and repeats nothing across a reconnect while 1,000 events are produced concurrently', async () => {
    const TOTAL = 1000;
    const first = await connect(api);
    await first.subscribe(project);

    // Four concurrent producers (so ids commit out of order), with noise in other projects.
    let produced = 0;
    const producer = async (lane: number) => {
      for (let i = lane; i < TOTAL; i += 4) {
        await appendEvent(worker, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { i } });
        produced++;
        if (i % 10 === 0) {
          await appendEvent(worker, { tenantId: tenant, projectId: otherProject, type: 'job.progress', payload: { i } });
          await appendEvent(worker, { tenantId: otherTenant, projectId: otherTenantProject, type: 'job.progress', payload: { i } });
        }
      }
    };
    const producing = Promise.all([0, 1, 2, 3].map(producer));

    await first.waitForEvents(150, 30_000);
    first.ws.terminate(); // as a dropped network would
    await first.closed;
    const before = ids(first);
    expect(increasing(before)).toBe(true);
    const last = before[before.length - 1];

    // Reconnect while production goes on.
    while (produced < 500) await new Promise((r) => setTimeout(r, 5));
    const second = await connect(api);
    const ack = await second.subscribe(project, last.toString());
    expect(ack).toMatchObject({ type: 'ack', for: 'subscribe_project', project_id: project });
    await producing;

    const all = (await worker('events').where({ project_id: project }).orderBy('id').pluck('id')).map((x: string) => BigInt(x));
    expect(all).toHaveLength(TOTAL);
    await second.waitForEvents(all.filter((id) => id > last).length, 30_000);
    await new Promise((r) => setTimeout(r, 200)); // nothing more may come
    const after = ids(second);
    expect(increasing(after)).toBe(true);
    expect(after[0]).toBeGreaterThan(last);
    expect([...before, ...after]).toEqual(all);
    expect(second.events().every((m) => m.project_id === project)).toBe(true);
  });

  it('replays a backlog in pages, in order, then goes live', async () => {
    const c0 = await connect(api);
    await c0.subscribe(otherProject);
    const start = await appendEvent(worker, { tenantId: tenant, projectId: otherProject, type: 'job.progress', payload: { start: true } });
    await c0.waitFor((m) => m.id === start);
    const backlog: string[] = [];
    for (let i = 0; i < 180; i++) backlog.push((await appendEvent(worker, { tenantId: tenant, projectId: otherProject, type: 'job.progress', payload: { i } }))!);
    const c = await connect(api);
    await c.subscribe(otherProject, start!);
    const live = await appendEvent(worker, { tenantId: tenant, projectId: otherProject, type: 'job.completed', payload: {} });
    const got = await c.waitForEvents(181);
    expect(got.map((m) => m.id)).toEqual([...backlog, live]);
    // A last_event_id beyond what the server knows replays nothing and repeats nothing.
    const ahead = await connect(api);
    await ahead.subscribe(otherProject, '999999999999');
    await appendEvent(worker, { tenantId: tenant, projectId: otherProject, type: 'job.completed', payload: {} });
    await new Promise((r) => setTimeout(r, 300));
    expect(ahead.events()).toHaveLength(0);
  });

  it('keeps id order when a lower id commits later, and is not stalled by a rolled-back id', async () => {
    const c = await connect(api);
    await c.subscribe(project);
    const base = c.events().length;
    // An append inside a longer transaction takes an id and holds it while a later id commits.
    const trx = await worker.transaction();
    const held = await appendEvent(trx, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { held: true } });
    const later = await appendEvent(worker, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { later: true } });
    await new Promise((r) => setTimeout(r, 300));
    expect(c.events().length).toBe(base); // the later one waits for the held id
    await trx.commit();
    const got = (await c.waitForEvents(base + 2)).slice(base).map((m) => m.id);
    expect(got).toEqual([held, later]);

    // A rolled-back append leaves a hole that never fills: the relay passes it quickly.
    await expect(
      worker.transaction(async (t2) => {
        await appendEvent(t2, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { rolled_back: true } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const started = Date.now();
    const after = await appendEvent(worker, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { after: true } });
    await c.waitFor((m) => m.id === after, 5000);
    expect(Date.now() - started).toBeLessThan(2500);
  });
});

describe('across replicas and failures', () => {
  it('delivers an event through two API instances on the same database, and presence crosses them', async () => {
    const onA = await connect(api, 'alice');
    const onB = await connect(api2, 'bob');
    await onA.subscribe(project);
    await onB.subscribe(project);
    const id = await appendEvent(worker, { tenantId: tenant, projectId: project, type: 'conflict.detected', payload: { conflict_id: 'c1' } });
    const [a, b] = await Promise.all([onA.waitFor((m) => m.id === id), onB.waitFor((m) => m.id === id)]);
    expect(a).toEqual(b);
    expect(a).toMatchObject({ event: 'conflict.detected', payload: { conflict_id: 'c1' } });

    const seen = onB.next((m) => m.event === 'presence.update' && m.payload.user_id === 'alice' && m.payload.action === 'join');
    onA.send({ type: 'user_presence', project_id: project, item_id: 'i-9', state: 'editing' });
    expect((await seen).payload).toMatchObject({ state: 'editing', item_id: 'i-9' });
    const left = onB.next((m) => m.event === 'presence.update' && m.payload.user_id === 'alice' && m.payload.action === 'leave');
    await onA.close();
    expect((await left).payload.state).toBe('left');
  });

  it('catches up on what was committed while the LISTEN connection was down', async () => {
    const c = await connect(api);
    await c.subscribe(project);
    const base = c.events().length;
    const relay = api.hub.startRelay();
    relay.simulateListenerLoss();
    const produced: string[] = [];
    for (let i = 0; i < 30; i++) produced.push((await appendEvent(worker, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { i } }))!);
    const got = (await c.waitForEvents(base + 30, 10_000)).slice(base).map((m) => m.id);
    expect(got).toEqual(produced);
    // And live again afterwards.
    await new Promise((r) => setTimeout(r, 400));
    const next = await appendEvent(worker, { tenantId: tenant, projectId: project, type: 'job.completed', payload: {} });
    await c.waitFor((m) => m.id === next, 3000);
  });
});
