import type { Knex } from 'knex';
import { createDatabase } from '../../src/db/knex';
import { startTestApi, tokenFor, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy';

/**
 * An export that loses PostgreSQL half-way: its 200 and first pages are sent already, so the
 * stream's error destroys the response and the client's read fails — it never waits on an open,
 * silent response, nor takes a truncated body for a whole one.
 */
let tdb: TestDatabase;
let proxy: TcpProxy;
let db: Knex;
let api: TestApi;
const manager = tokenFor({ tenantId: 'outage', sub: 'mia', roles: ['manager'] });

beforeAll(async () => {
  tdb = await createTestDatabase();
  const u = new URL(tdb.url);
  proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  db = createDatabase({ databaseUrl: proxy.via(tdb.url), dataDir: '.data', poolMax: 4 });
  api = await startTestApi({ db });
});
afterAll(async () => {
  await api?.close();
  await db?.destroy();
  await proxy?.close();
  await tdb?.drop();
});

test('the database cut mid-export ends the response with an error, not a hang', async () => {
  const created = await api.request('/api/v1/projects', { method: 'POST', token: manager, json: { name: 'Cut', label_schema: { type: 'single_label', labels: ['a', 'b'] } } });
  const projectId = ((await created.json()) as { id: string }).id;
  const items = Array.from({ length: 20_000 }, (_, i) => ({ data: { text: `item ${i} ${'x'.repeat(200)}` } }));
  expect((await api.request(`/api/v1/projects/${projectId}/items`, { method: 'POST', token: manager, json: { items } })).status).toBe(201);

  const res = await api.request(`/api/v1/projects/${projectId}/export?format=jsonl`, { token: manager });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  let received = 0;
  const first = await reader.read();
  received += first.value?.length ?? 0;
  proxy.cut();
  const outcome = await (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) return 'ended';
      received += r.value.length;
    }
  })().catch((err: Error) => `failed: ${err.message}`);
  proxy.restore();
  expect(outcome).toMatch(/^failed/);
  // Fewer bytes than the whole export: it was cut, and said so by failing.
  const whole = await (await api.request(`/api/v1/projects/${projectId}/export?format=jsonl`, { token: manager })).text();
  expect(received).toBeLessThan(Buffer.byteLength(whole));
}, 60_000);
