import crypto from 'node:crypto';
import { TestApi, errorOf, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';

let tdb: TestDatabase;
let api: TestApi;
const tenant = `ti-${crypto.randomBytes(3).toString('hex')}`;
const manager = tokenFor({ tenantId: tenant, sub: 'mgr', roles: ['manager'] });
const annotator = tokenFor({ tenantId: tenant, sub: 'ann', roles: ['annotator'] });
const otherTenant = tokenFor({ tenantId: `${tenant}-other`, sub: 'x', roles: ['admin'] });

beforeAll(async () => {
  tdb = await createTestDatabase();
  api = await startTestApi({ db: tdb.db });
});
afterAll(async () => {
  await api?.close();
  await tdb?.drop();
});

async function newProject(labelSchema: object = { type: 'single_label', labels: ['positive', 'negative', 'neutral'] }): Promise<string> {
  const res = await api.request('/api/v1/projects', { method: 'POST', token: manager, json: { name: 'Items', label_schema: labelSchema } });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

const itemCount = async (projectId: string) => Number((await tdb.db('items').where({ project_id: projectId }).count({ n: '*' }))[0].n);

function importJson(projectId: string, items: unknown[], token = manager) {
  return api.request(`/api/v1/projects/${projectId}/items`, { method: 'POST', token, json: { items } });
}

function importNdjson(projectId: string, body: string | ReadableStream<Uint8Array>, token = manager) {
  return api.request(`/api/v1/projects/${projectId}/items`, {
    method: 'POST',
    token,
    headers: { 'Content-Type': 'application/x-ndjson' },
    body,
    ...(typeof body === 'string' ? {} : { duplex: 'half' }),
  } as never);
}

describe('JSON import', () => {
  it('inserts items, skips duplicates (existing and within the request), and audits', async () => {
    const projectId = await newProject();
    const first = await importJson(projectId, [
      { external_id: 'a', data: { text: 'great', source: 'web' }, gold_label: { label: 'positive' } },
      { external_id: 'b', data: { text: 'awful' } },
      { data: { text: 'no external id' } },
    ]);
    expect(first.status).toBe(201);
    const r1 = (await first.json()) as any;
    expect(r1).toMatchObject({ inserted: 3, duplicates: 0 });
    expect(r1.item_ids).toHaveLength(3);

    const second = await importJson(projectId, [
      { external_id: 'a', data: { text: 'again' } }, // exists
      { external_id: 'c', data: { text: 'new' } },
      { external_id: 'c', data: { text: 'repeated in this request' } },
      { data: { text: 'also no external id' } }, // never a duplicate
    ]);
    expect(second.status).toBe(201);
    const r2 = (await second.json()) as any;
    expect(r2).toMatchObject({ inserted: 2, duplicates: 2 });
    expect(r2.item_ids).toHaveLength(2);

    expect(await itemCount(projectId)).toBe(5);
    const a = await tdb.db('items').where({ project_id: projectId, external_id: 'a' }).first();
    expect(a).toMatchObject({ id: r1.item_ids[0], tenant_id: tenant, data: { text: 'great', source: 'web' }, gold_label: { label: 'positive' } });
    const c = await tdb.db('items').where({ project_id: projectId, external_id: 'c' }).first();
    expect(c.id).toBe(r2.item_ids[0]);
    expect(c.data.text).toBe('new');
    const audit = await tdb.db('audit_log').where({ project_id: projectId, action: 'items.imported' }).orderBy('id');
    expect(audit.map((x) => x.details)).toEqual([
      { format: 'json', inserted: 3, duplicates: 0 },
      { format: 'json', inserted: 2, duplicates: 2 },
    ]);
  });

  it('rejects a gold label outside the label schema with 422, writing nothing', async () => {
    const projectId = await newProject();
    await importJson(projectId, [{ external_id: 'keep', data: { text: 'x' } }]);
    const before = await itemCount(projectId);
    const items = [0, 1, 2].map((i) => ({ external_id: `ok-${i}`, data: { text: `t${i}` }, gold_label: { label: 'neutral' } }));
    items.push({ external_id: 'bad', data: { text: 'y' }, gold_label: { label: 'ecstatic' } });
    const res = await importJson(projectId, items);
    expect(res.status).toBe(422);
    const e = await errorOf(res);
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.details).toEqual([{ field: 'items.3.gold_label.label', message: expect.any(String) }]);
    expect(await itemCount(projectId)).toBe(before);
    expect(await tdb.db('audit_log').where({ project_id: projectId, action: 'items.imported' }).count({ n: '*' })).toEqual([{ n: '1' }]);
  });

  it('checks multi_label gold labels as subsets and reports every bad item', async () => {
    const projectId = await newProject({ type: 'multi_label', labels: ['sports', 'politics', 'tech'] });
    const ok = await importJson(projectId, [{ data: { text: 'a' }, gold_label: { labels: ['sports', 'tech'] } }, { data: { text: 'b' }, gold_label: { labels: [] } }]);
    expect(ok.status).toBe(201);
    const bad = await importJson(projectId, [
      { data: { text: 'c' }, gold_label: { labels: ['cooking'] } },
      { data: { text: 'd' }, gold_label: { label: 'sports' } },
      { data: { nottext: 1 } },
    ]);
    expect(bad.status).toBe(422);
    const fields = (await errorOf(bad)).details.map((d) => d.field);
    expect(fields).toEqual(expect.arrayContaining(['items.0.gold_label.labels.0', 'items.2.data.text']));
    expect(fields.some((f) => f.startsWith('items.1.gold_label'))).toBe(true);
    expect(await itemCount(projectId)).toBe(2);
  });

  it('refuses more than 100,000 items with 413 and an empty list with 422', async () => {
    const projectId = await newProject();
    const tooMany = Array.from({ length: 100_001 }, () => ({ data: { text: 'x' } }));
    const res = await importJson(projectId, tooMany);
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('PAYLOAD_TOO_LARGE');
    const noBody = await api.request(`/api/v1/projects/${projectId}/items`, { method: 'POST', token: manager });
    expect(noBody.status).toBe(422);
    expect((await errorOf(noBody)).details[0].field).toBe('items');
    const empty = await importJson(projectId, []);
    expect(empty.status).toBe(422);
    expect((await errorOf(empty)).details[0].field).toBe('items');
    expect(await itemCount(projectId)).toBe(0);
  });

  it('answers 400 for malformed JSON, 415 for other types, 403 for annotators, 404 across tenants', async () => {
    const projectId = await newProject();
    const malformed = await api.request(`/api/v1/projects/${projectId}/items`, {
      method: 'POST',
      token: manager,
      headers: { 'Content-Type': 'application/json' },
      body: '{"items": [',
    });
    expect(malformed.status).toBe(400);
    expect((await errorOf(malformed)).code).toBe('MALFORMED_JSON');
    const csv = await api.request(`/api/v1/projects/${projectId}/items`, {
      method: 'POST',
      token: manager,
      headers: { 'Content-Type': 'text/csv' },
      body: 'text\nhello',
    });
    expect(csv.status).toBe(415);
    expect((await errorOf(csv)).message).toMatch(/application\/x-ndjson/);
    expect((await importJson(projectId, [{ data: { text: 'x' } }], annotator)).status).toBe(403);
    expect((await importJson(projectId, [{ data: { text: 'x' } }], otherTenant)).status).toBe(404);
    expect(await itemCount(projectId)).toBe(0);
  });
});

describe('NDJSON import', () => {
  it('streams 100,000 items in one request into one project', async () => {
    const projectId = await newProject();
    const total = 100_000;
    const perChunk = 2000;
    let next = 0;
    const encoder = new TextEncoder();
    // Generated on demand: the client never holds the whole body either.
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next >= total) return controller.close();
        let s = '';
        for (let i = 0; i < perChunk && next < total; i++, next++) {
          const gold = next % 10 === 0 ? `,"gold_label":{"label":"${['positive', 'negative', 'neutral'][next % 3]}"}` : '';
          s += `{"external_id":"ext-${next}","data":{"text":"item number ${next}"}${gold}}\n`;
        }
        controller.enqueue(encoder.encode(s));
      },
    });
    const started = Date.now();
    const res = await importNdjson(projectId, body);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(201);
    const result = (await res.json()) as any;
    expect(result.inserted).toBe(total);
    expect(result.duplicates).toBe(0);
    expect(result.item_ids).toHaveLength(total);
    expect(new Set(result.item_ids).size).toBe(total);
    expect(await itemCount(projectId)).toBe(total);
    expect(await tdb.db('items').where({ project_id: projectId }).whereNotNull('gold_label').count({ n: '*' })).toEqual([{ n: String(total / 10) }]);
    // Import order is kept: the first and last items by seq are the first and last lines.
    const firstRow = await tdb.db('items').where({ project_id: projectId }).orderBy('seq').first();
    const lastRow = await tdb.db('items').where({ project_id: projectId }).orderBy('seq', 'desc').first();
    expect([firstRow.external_id, lastRow.external_id]).toEqual(['ext-0', `ext-${total - 1}`]);
    expect(firstRow.id).toBe(result.item_ids[0]);
    expect(elapsed).toBeLessThan(30_000);

    // The list pages through them in import order.
    const page = (await (await api.request(`/api/v1/projects/${projectId}/items?page=2&page_size=500`, { token: annotator })).json()) as any;
    expect(page).toMatchObject({ page: 2, page_size: 500, total });
    expect(page.items).toHaveLength(500);
    expect(page.items[0]).toMatchObject({ external_id: 'ext-500', data: { text: 'item number 500' }, gold_label: { label: 'neutral' } });
    expect(page.items[499].external_id).toBe('ext-999');
  }, 60_000);

  it('rolls back every chunk already written when a later line is invalid', async () => {
    const projectId = await newProject();
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ external_id: `n-${i}`, data: { text: `t${i}` } }));
    lines[2499] = JSON.stringify({ external_id: 'bad', data: { text: 'x' }, gold_label: { label: 'joyful' } });
    const res = await importNdjson(projectId, `${lines.join('\n')}\n`);
    expect(res.status).toBe(422);
    const e = await errorOf(res);
    expect(e.code).toBe('VALIDATION_ERROR');
    expect(e.details).toEqual([{ field: 'line 2500', message: expect.stringMatching(/^gold_label\.label: /) }]);
    expect(await itemCount(projectId)).toBe(0);
    expect(await tdb.db('audit_log').where({ project_id: projectId, action: 'items.imported' })).toHaveLength(0);
  });

  it('400 names an unparseable line; blank lines are skipped; duplicates are counted', async () => {
    const projectId = await newProject();
    const broken = await importNdjson(projectId, '{"data":{"text":"a"}}\n\n{"data": {"text": \n');
    expect(broken.status).toBe(400);
    const e = await errorOf(broken);
    expect(e.code).toBe('MALFORMED_JSON');
    expect(e.details[0].field).toBe('line 3');
    expect(await itemCount(projectId)).toBe(0);

    const ok = await importNdjson(projectId, '{"external_id":"x","data":{"text":"a"}}\r\n\r\n{"external_id":"x","data":{"text":"b"}}\r\n{"data":{"text":"c"}}');
    expect(ok.status).toBe(201);
    expect(await ok.json()).toMatchObject({ inserted: 2, duplicates: 1 });
    const empty = await importNdjson(projectId, '\n\n');
    expect(empty.status).toBe(422);
  });

  it('413 when the stream passes BODY_LIMIT_BYTES, writing nothing', async () => {
    const small = await startTestApi({ db: tdb.db, env: { BODY_LIMIT_BYTES: '4096' } });
    try {
      const projectId = await newProject();
      const line = `${JSON.stringify({ data: { text: 'x'.repeat(100) } })}\n`;
      const enc = new TextEncoder();
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent++ >= 200) return c.close();
          c.enqueue(enc.encode(line));
        },
      });
      const res = await small.request(`/api/v1/projects/${projectId}/items`, {
        method: 'POST',
        token: manager,
        headers: { 'Content-Type': 'application/x-ndjson' },
        body,
        duplex: 'half',
      } as never);
      expect(res.status).toBe(413);
      expect((await errorOf(res)).code).toBe('PAYLOAD_TOO_LARGE');
      expect(await itemCount(projectId)).toBe(0);
    } finally {
      await small.close();
    }
  });
});

describe('listing items', () => {
  it('pages by import order, filters by external_id, and is tenant-scoped', async () => {
    const projectId = await newProject();
    const items = Array.from({ length: 7 }, (_, i) => ({ external_id: `e${i}`, data: { text: `text ${i}` } }));
    expect((await importJson(projectId, items)).status).toBe(201);
    const p2 = (await (await api.request(`/api/v1/projects/${projectId}/items?page=2&page_size=3`, { token: annotator })).json()) as any;
    expect(p2).toMatchObject({ page: 2, page_size: 3, total: 7 });
    expect(p2.items.map((i: { external_id: string }) => i.external_id)).toEqual(['e3', 'e4', 'e5']);
    expect(p2.items[0]).toEqual({
      id: expect.any(String),
      project_id: projectId,
      external_id: 'e3',
      data: { text: 'text 3' },
      gold_label: null,
      created_at: expect.any(String),
      final_label: null,
    });
    const one = (await (await api.request(`/api/v1/projects/${projectId}/items?external_id=e6`, { token: annotator })).json()) as any;
    expect(one.total).toBe(1);
    expect(one.items[0].data.text).toBe('text 6');
    expect((await api.request(`/api/v1/projects/${projectId}/items`, { token: otherTenant })).status).toBe(404);
    expect((await api.request(`/api/v1/projects/${projectId}/items?page_size=501`, { token: annotator })).status).toBe(422);
  });
});
