import crypto from 'node:crypto';
import WebSocket from 'ws';
import { appendEvent } from '../../src/events/outbox';
import { createDatabase } from '../../src/db/knex';
import { badRequest } from '../../src/api/errors';
import { startApi } from '../../src/processes/api';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { TEST_JWT_SECRET, TestApi, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { seedProject } from '../helpers/seed';
import { TestWsClient } from '../helpers/ws-client';

let tdb: TestDatabase;
let api: TestApi;
let tenantA: string;
let tenantB: string;
let projectA: string;
let projectA2: string;
let projectB: string;
const clients: TestWsClient[] = [];

const connect = async (token?: string, path?: string) => {
  const c = await TestWsClient.connect(api.baseUrl, token, path);
  clients.push(c);
  return c;
};

beforeAll(async () => {
  tdb = await createTestDatabase();
  ({ tenantId: tenantA, projectId: projectA } = await seedProject(tdb.db));
  ({ projectId: projectA2 } = await seedProject(tdb.db, { tenantId: tenantA }));
  ({ tenantId: tenantB, projectId: projectB } = await seedProject(tdb.db));
  api = await startTestApi({ db: tdb.db, ws: { pingIntervalMs: 200 } });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await api?.close();
  await tdb?.drop();
});

const userA = (extra: { projects?: string[]; sub?: string } = {}) =>
  tokenFor({ tenantId: tenantA, sub: extra.sub ?? 'alice', roles: ['annotator'], projects: extra.projects });

describe('authentication', () => {
  it('closes with 1008 without a token, with a bad signature, and with an expired token', async () => {
    const forged = tokenFor({ tenantId: tenantA, sub: 'x', roles: ['admin'] }).replace(/.{4}$/, 'AAAA');
    const expired = tokenFor({ tenantId: tenantA, sub: 'x', roles: ['admin'], expiresIn: -120 });
    for (const token of [undefined, '', 'not-a-jwt', forged, expired]) {
      const c = await connect(token);
      expect((await c.closed).code).toBe(1008);
    }
  });

  it('closes with 1008 when the token expires during the connection', async () => {
    // `exp` has whole-second precision: 3 s leaves room to connect and ping on a busy machine.
    const c = await connect(tokenFor({ tenantId: tenantA, sub: 'x', roles: ['viewer'], expiresIn: 3 }));
    c.send({ type: 'ping' });
    await c.next((m) => m.type === 'pong');
    const closed = await c.closed;
    expect(closed).toEqual({ code: 1008, reason: 'token expired' });
  });

  it('serves both paths and refuses others', async () => {
    for (const path of ['/api/v1/annotation/ws', '/api/v1/collaboration/ws']) {
      const c = await connect(userA(), path);
      c.send({ type: 'ping', request_id: 7 });
      expect(await c.next((m) => m.type === 'pong')).toEqual({ type: 'pong', request_id: 7 });
    }
    const ws = new WebSocket(`${api.baseUrl.replace('http', 'ws')}/api/v1/elsewhere?token=${userA()}`);
    await expect(new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))).rejects.toThrow(/404/);
  });
});

describe('subscriptions', () => {
  it('refuses another tenant’s project, a project outside `projects`, an unknown id, without subscribing', async () => {
    const c = await connect(userA({ projects: [projectA] }));
    for (const id of [projectB, projectA2, crypto.randomUUID(), 'not-a-uuid']) {
      const reply = await c.subscribe(id);
      expect(reply).toMatchObject({ type: 'error', code: 'NOT_FOUND' });
      expect(typeof reply.message).toBe('string');
    }
    // Nothing from those projects reaches the socket.
    await appendEvent(tdb.db, { tenantId: tenantB, projectId: projectB, type: 'job.progress', payload: { n: 1 } });
    await appendEvent(tdb.db, { tenantId: tenantA, projectId: projectA2, type: 'job.progress', payload: { n: 1 } });
    expect((await c.subscribe(projectA)).type).toBe('ack');
    const id = await appendEvent(tdb.db, { tenantId: tenantA, projectId: projectA, type: 'job.progress', payload: { n: 2 } });
    await c.waitFor((m) => m.type === 'event' && m.id === id);
    expect(c.events()).toHaveLength(1);
    const stats = (await (await api.request('/api/v1/annotation/ws/stats', { token: userA() })).json()) as any;
    expect(stats).toMatchObject({ connections: 1, subscriptions: { [projectA]: 1 } });
    expect(stats.subscriptions[projectA2]).toBeUndefined();
  });

  it('relays an event in the contract’s exact shape, only to the project’s subscribers, and stops after unsubscribe', async () => {
    const a = await connect(userA());
    const other = await connect(userA({ sub: 'bob' }));
    await a.subscribe(projectA);
    await other.subscribe(projectA2);
    const id = await appendEvent(tdb.db, { tenantId: tenantA, projectId: projectA, type: 'review.assigned', payload: { task_id: 't1', reviewer_id: 'r' } });
    const msg = await a.waitFor((m) => m.type === 'event' && m.id === id);
    expect(msg).toEqual({
      type: 'event',
      id: expect.stringMatching(/^\d+$/),
      event: 'review.assigned',
      project_id: projectA,
      payload: { task_id: 't1', reviewer_id: 'r' },
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
    });
    expect(Object.keys(msg)).toEqual(['type', 'id', 'event', 'project_id', 'payload', 'created_at']);

    a.send({ type: 'unsubscribe_project', project_id: projectA, request_id: 'u' });
    await a.next((m) => m.request_id === 'u');
    const later = await appendEvent(tdb.db, { tenantId: tenantA, projectId: projectA2, type: 'job.completed', payload: {} });
    await appendEvent(tdb.db, { tenantId: tenantA, projectId: projectA, type: 'job.completed', payload: {} });
    await other.waitFor((m) => m.id === later);
    await new Promise((r) => setTimeout(r, 150));
    expect(a.events().map((m) => m.id)).toEqual([id]);
    expect(other.events().map((m) => m.id)).toEqual([later]);
  });

  it('delivers events written by a separate producer (another knex instance, as a worker would)', async () => {
    const worker = createDatabase({ databaseUrl: tdb.url, dataDir: '.data', poolMax: 2 });
    try {
      const c = await connect(userA());
      await c.subscribe(projectA);
      const ids = [];
      for (let i = 0; i < 20; i++) ids.push(await appendEvent(worker, { tenantId: tenantA, projectId: projectA, type: 'job.progress', payload: { processed: i } }));
      const got = await c.waitForEvents(20);
      expect(got.map((m) => m.id)).toEqual(ids);
      expect(got.map((m) => m.payload.processed)).toEqual([...Array(20).keys()]);
    } finally {
      await worker.destroy();
    }
  });

  it('answers malformed and unknown messages with an error and keeps the connection', async () => {
    const c = await connect(userA());
    c.ws.send('{not json');
    expect(await c.next((m) => m.type === 'error')).toMatchObject({ code: 'BAD_REQUEST' });
    c.send({ type: 'dance', request_id: 'd' });
    expect(await c.next((m) => m.type === 'error')).toMatchObject({ code: 'VALIDATION_ERROR', request_id: 'd' });
    c.send({ type: 'subscribe_project', request_id: 's' });
    expect(await c.next((m) => m.type === 'error')).toMatchObject({ code: 'VALIDATION_ERROR', request_id: 's' });
    c.send({ type: 'ping' });
    expect(await c.next((m) => m.type === 'pong')).toEqual({ type: 'pong' });
  });
});

describe('presence', () => {
  it('broadcasts join, state changes and leave on disconnect; a newcomer gets who is there', async () => {
    const alice = await connect(userA({ sub: 'alice' }));
    const bob = await connect(userA({ sub: 'bob' }));
    await alice.subscribe(projectA);
    await bob.subscribe(projectA);

    const presence = (c: TestWsClient, user: string, action: string) =>
      c.next((m) => m.event === 'presence.update' && m.payload.user_id === user && m.payload.action === action, 5000, `${user} ${action}`);

    const joined = presence(bob, 'alice', 'join');
    alice.send({ type: 'user_presence', project_id: projectA, item_id: 'item-1', state: 'viewing' });
    const join = await joined;
    expect(join).toMatchObject({ type: 'event', id: null, event: 'presence.update', project_id: projectA });
    expect(join.payload).toMatchObject({ user_id: 'alice', item_id: 'item-1', state: 'viewing', action: 'join' });

    const edited = presence(bob, 'alice', 'update');
    alice.send({ type: 'user_presence', project_id: projectA, item_id: 'item-1', state: 'editing' });
    expect((await edited).payload.state).toBe('editing');

    const carol = await connect(userA({ sub: 'carol' }));
    await carol.subscribe(projectA);
    const snapshot = await carol.waitFor((m) => m.event === 'presence.update' && m.payload.user_id === 'alice');
    expect(snapshot.payload).toMatchObject({ state: 'editing', item_id: 'item-1' });

    const left = presence(bob, 'alice', 'leave');
    await alice.close();
    expect((await left).payload.state).toBe('left');

    // Presence needs a subscription (that is where the project check happens).
    bob.send({ type: 'user_presence', project_id: projectA2, state: 'viewing', request_id: 'p' });
    expect(await bob.next((m) => m.request_id === 'p')).toMatchObject({ type: 'error', code: 'NOT_SUBSCRIBED' });
  });
});

describe('heartbeat', () => {
  it('drops a client that stops answering pings, keeps one that answers', async () => {
    const live = await connect(userA());
    const dead = await TestWsClient.connect(api.baseUrl, userA(), undefined, { autoPong: false });
    clients.push(dead);
    const started = Date.now();
    const { code } = await dead.closed;
    expect(code).toBe(1006); // terminated, no close frame
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(live.ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('message handlers', () => {
  it('routes review_decision and suggestion_feedback to injected handlers and acks', async () => {
    const seen: unknown[] = [];
    api.hub.setHandler('review_decision', async (ctx, body) => {
      seen.push({ user: ctx.principal.userId, body });
      if (body.decision === 'reject' && !body.value) throw badRequest('value required', 'VALIDATION_ERROR');
      return { task_id: body.task_id, status: 'completed' };
    });
    const c = await connect(userA());
    c.send({ type: 'review_decision', task_id: 'task-1', decision: 'approve', request_id: 'r1' });
    expect(await c.next((m) => m.request_id === 'r1')).toEqual({
      type: 'ack',
      for: 'review_decision',
      result: { task_id: 'task-1', status: 'completed' },
      request_id: 'r1',
    });
    expect(seen).toEqual([{ user: 'alice', body: { task_id: 'task-1', decision: 'approve' } }]);

    c.send({ type: 'review_decision', task_id: 'task-1', decision: 'reject', request_id: 'r2' });
    expect(await c.next((m) => m.request_id === 'r2')).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR', message: 'value required' });

    c.send({ type: 'suggestion_feedback', suggestion_id: 's', action: 'accept', request_id: 'f' });
    const reply = await c.next((m) => m.request_id === 'f');
    // No handler is set for it here: the hub says so instead of dropping the message.
    expect(['ack', 'error']).toContain(reply.type);

    const stats = (await (await api.request('/api/v1/annotation/ws/stats', { token: userA() })).json()) as any;
    expect(stats.messages_in).toBeGreaterThanOrEqual(3);
    expect(stats.messages_out).toBeGreaterThanOrEqual(3);
    const other = await (await api.request('/api/v1/annotation/ws/stats', { token: tokenFor({ tenantId: tenantB, sub: 'z', roles: ['admin'] }) })).json();
    expect(other).toEqual({ connections: 0, subscriptions: {}, messages_in: 0, messages_out: 0 });
  });
});

describe('the API process', () => {
  it('startApi serves the hub with the real suggestion_feedback and review_decision handlers', async () => {
    const { Connection } = await import('@temporalio/client');
    const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', JWT_SECRET: TEST_JWT_SECRET, PORT: '0', HOST: '127.0.0.1' });
    const connection = Connection.lazy({ address: '127.0.0.1:1', connectTimeout: 500, interceptors: [] });
    const running = await startApi(config, tdb.db, createLogger(config), connection);
    try {
      const c = await TestWsClient.connect(running.url, userA());
      clients.push(c);
      for (const type of ['review_decision', 'suggestion_feedback']) {
        c.send({ type, request_id: type });
        const reply = await c.next((m) => m.request_id === type);
        expect(reply).toMatchObject({ type: 'error', code: 'VALIDATION_ERROR' }); // validated by the real handler
      }
      await c.close();
    } finally {
      await running.close();
      await connection.close().catch(() => undefined);
    }
  });
});
