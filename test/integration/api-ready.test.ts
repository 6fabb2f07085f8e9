import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { TestApi, errorOf, startTestApi } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';

// One Temporal dev server for this file: /ready is 200 while it runs and 503 once it is gone.
let env: TestWorkflowEnvironment | undefined;
let connection: Connection;
let tdb: TestDatabase;
let api: TestApi;

beforeAll(async () => {
  tdb = await createTestDatabase();
  env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path: process.env.TEMPORAL_CLI_PATH! } },
  });
  // Our own connection, so the API's client outlives the environment's and sees the server go.
  // No retry interceptor: the SDK's backoff timers would fire after close() and throw.
  connection = await Connection.connect({ address: env.address, interceptors: [] });
  api = await startTestApi({ db: tdb.db, temporalClient: new Client({ connection, namespace: env.namespace ?? 'default' }) });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await connection?.close().catch(() => undefined);
  await env?.teardown().catch(() => undefined);
  await tdb?.drop();
});

it('is ready while the database and Temporal answer, and 503 naming Temporal once it stops', async () => {
  const ok = await api.request('/ready');
  expect(ok.status).toBe(200);
  expect(await ok.json()).toEqual({ status: 'ready', checks: { database: 'ok', temporal: 'ok' } });
  expect(ok.headers.get('x-correlation-id')).toBeTruthy();

  await env!.teardown();
  env = undefined;

  const started = Date.now();
  const down = await api.request('/ready');
  expect(down.status).toBe(503);
  expect(Date.now() - started).toBeLessThan(10_000);
  const e = await errorOf(down);
  expect(e.code).toBe('SERVICE_UNAVAILABLE');
  expect(e.message).toMatch(/temporal/);
  expect(e.message).not.toMatch(/database/);
  expect(e.details.map((d) => d.field)).toEqual(['temporal']);
}, 60_000);

it('names the database when it is the one that is down', async () => {
  const broken = await createTestDatabase();
  await broken.drop(); // destroys the pool: every query now fails
  const other = await startTestApi({ db: broken.db });
  try {
    const res = await other.request('/ready');
    expect(res.status).toBe(503);
    const e = await errorOf(res);
    // The helper's default Temporal client points at a closed port, so both are named.
    expect(e.details.map((d) => d.field).sort()).toEqual(['database', 'temporal']);
    expect(e.message).toMatch(/database/);
  } finally {
    await other.close();
  }
}, 30_000);
