import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { TestApi, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { RawResponse, rawHttp, rawRequest } from '../helpers/raw-http';
import { MAX_JSON_DEPTH } from '../../src/api/input/json-text';

/**
 * Hostile input through the real HTTP stack (raw sockets where a client library would fix the
 * bytes up): every bad request is a 4xx in the documented error shape, and nothing is written.
 */
let tdb: TestDatabase;
let api: TestApi;
const tenant = `hi-${crypto.randomBytes(3).toString('hex')}`;
const manager = tokenFor({ tenantId: tenant, sub: 'mgr', roles: ['manager'] });
let projectId: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  api = await startTestApi({ db: tdb.db });
  const res = await api.request('/api/v1/projects', {
    method: 'POST',
    token: manager,
    json: { name: 'Hostile', label_schema: { type: 'single_label', labels: ['positive', 'negative'] } },
  });
  expect(res.status).toBe(201);
  projectId = ((await res.json()) as { id: string }).id;
});
afterAll(async () => {
  await api?.close();
  await tdb?.drop();
});

const WRITTEN_TABLES = ['tenants', 'projects', 'items', 'engines', 'jobs', 'tasks', 'audit_log', 'events', 'llm_usage'];

/** Rows in every table a write route touches: the proof that a refused request wrote nothing. */
async function rowCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of WRITTEN_TABLES) out[t] = Number((await tdb.db(t).count({ n: '*' }))[0].n);
  return out;
}

/** Runs `send`, asserts the answer and that no row was written. */
async function refusedWithoutWrites(send: () => Promise<RawResponse>, status: number, code?: string): Promise<RawResponse> {
  const before = await rowCounts();
  const res = await send();
  expect({ status: res.status, body: res.body.slice(0, 300) }).toMatchObject({ status });
  expectErrorShape(res, code);
  expect(await rowCounts()).toEqual(before);
  return res;
}

function expectErrorShape(res: RawResponse, code?: string): void {
  expect(res.headers['content-type']).toMatch(/application\/json/);
  const e = res.json?.error;
  expect(e).toEqual({
    code: code ?? expect.any(String),
    message: expect.any(String),
    details: expect.any(Array),
    correlation_id: expect.any(String),
    timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
  });
}

const auth = { Authorization: `Bearer ${manager}` };
const jsonHeaders = { ...auth, 'Content-Type': 'application/json' };
const send = (method: string, path: string, headers: Record<string, string>, body?: Buffer | string) => () =>
  rawRequest(api.baseUrl, rawHttp(method, path, headers, body));
const createProject = (bodyText: Buffer | string, headers: Record<string, string> = {}) =>
  send('POST', '/api/v1/projects', { ...jsonHeaders, ...headers }, bodyText);
const importItems = (bodyText: Buffer | string, type = 'application/json') =>
  send('POST', `/api/v1/projects/${projectId}/items`, { ...auth, 'Content-Type': type }, bodyText);

describe('strings PostgreSQL cannot store or that are not Unicode: 422 naming the field', () => {
  it.each([
    ['NUL in a top-level string', '{"name":"a\\u0000b","label_schema":{"type":"single_label","labels":["x"]}}', 'name', /NUL/],
    ['NUL in a nested array element', '{"name":"ok","label_schema":{"type":"single_label","labels":["x","y\\u0000"]}}', 'label_schema.labels.1', /NUL/],
    ['a lone high surrogate', '{"name":"a\\ud800","label_schema":{"type":"single_label","labels":["x"]}}', 'name', /surrogate/],
    ['a lone low surrogate', '{"name":"\\udc00z","label_schema":{"type":"single_label","labels":["x"]}}', 'name', /surrogate/],
    ['NUL in a key', '{"name":"ok","label_schema":{"type":"single_label","labels":["x"]},"a\\u0000":1}', 'a\\u0000', /NUL/],
    ['a __proto__ key', '{"name":"ok","label_schema":{"type":"single_label","labels":["x"]},"__proto__":{"x":1}}', '__proto__', /prototype/],
  ])('%s', async (_name, body, field, message) => {
    const res = await refusedWithoutWrites(createProject(body), 422, 'VALIDATION_ERROR');
    expect(res.json.error.details).toEqual([{ field, message: expect.stringMatching(message) }]);
  });

  it('a valid surrogate pair (an emoji as \\ud83d\\ude00) is accepted', async () => {
    const res = await createProject('{"name":"smile \\ud83d\\ude00","label_schema":{"type":"single_label","labels":["x"]}}')();
    expect(res.status).toBe(201);
    expect(res.json.name).toBe('smile 😀');
  });

  it('in an item import, JSON and NDJSON (before any line is written)', async () => {
    const json = await refusedWithoutWrites(importItems('{"items":[{"data":{"text":"fine"}},{"data":{"text":"bad\\u0000"}}]}'), 422);
    expect(json.json.error.details).toEqual([{ field: 'items.1.data.text', message: expect.stringMatching(/NUL/) }]);
    const ndjson = await refusedWithoutWrites(importItems('{"data":{"text":"fine"}}\n{"data":{"t":"\\ud800"}}\n', 'application/x-ndjson'), 422);
    expect(ndjson.json.error.details).toEqual([{ field: 'line 2.data.t', message: expect.stringMatching(/surrogate/) }]);
  });

  it('in a query string or a path parameter', async () => {
    const q = await refusedWithoutWrites(send('GET', '/api/v1/projects?cursor=%00', auth), 422, 'VALIDATION_ERROR');
    expect(q.json.error.details).toEqual([{ field: 'cursor', message: expect.stringMatching(/NUL/) }]);
    const p = await refusedWithoutWrites(send('GET', '/api/v1/projects/%00', auth), 422, 'VALIDATION_ERROR');
    expect(p.json.error.details[0].field).toBe('project_id');
  });
});

describe('bytes that are not UTF-8: 400', () => {
  const invalid = Buffer.concat([Buffer.from('{"name":"caf'), Buffer.from([0xe9]), Buffer.from('","label_schema":{"type":"single_label","labels":["x"]}}')]);
  it.each([
    ['a Latin-1 é', invalid],
    ['an encoded surrogate (CESU-8)', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
    ['an overlong NUL', Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc0, 0x80]), Buffer.from('"}')])],
  ])('JSON body with %s', async (_name, body) => {
    await refusedWithoutWrites(createProject(body), 400, 'INVALID_UTF8');
  });

  it('a query string whose %-escapes are not UTF-8', async () => {
    await refusedWithoutWrites(send('GET', '/api/v1/projects?cursor=caf%E9', auth), 400, 'INVALID_UTF8');
  });

  it('NDJSON import with invalid bytes on a later line', async () => {
    const body = Buffer.concat([Buffer.from('{"data":{"text":"fine"}}\n{"data":{"text":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}\n')]);
    await refusedWithoutWrites(importItems(body, 'application/x-ndjson'), 400, 'INVALID_UTF8');
  });
});

describe(`JSON nested deeper than ${MAX_JSON_DEPTH} levels: 400 before parsing`, () => {
  const nested = (depth: number) => `{"items":[{"data":{"text":"deep","n":${'['.repeat(depth - 4)}1${']'.repeat(depth - 4)}}}]}`;

  it.each([[MAX_JSON_DEPTH + 1], [100_000]])('depth %d', async (depth) => {
    const res = await refusedWithoutWrites(importItems(nested(depth)), 400, 'JSON_TOO_DEEP');
    expect(res.json.error.message).toMatch(String(MAX_JSON_DEPTH));
  });

  it('100,000 levels in an NDJSON line too', async () => {
    await refusedWithoutWrites(importItems(`${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, 'application/x-ndjson'), 400, 'JSON_TOO_DEEP');
  });

  it(`exactly ${MAX_JSON_DEPTH} levels (brackets inside strings do not count) is accepted`, async () => {
    const body = nested(MAX_JSON_DEPTH).replace('"deep"', '"[[[[{{{{"');
    const res = await importItems(body)();
    expect(res.status).toBe(201);
    expect(res.json.inserted).toBe(1);
  });
});

describe('Content-Encoding', () => {
  const project = '{"name":"gz","label_schema":{"type":"single_label","labels":["x"]}}';

  it('gzip that is not gzip: 400 BAD_CONTENT_ENCODING', async () => {
    await refusedWithoutWrites(createProject(project, { 'Content-Encoding': 'gzip' }), 400, 'BAD_CONTENT_ENCODING');
  });

  it('truncated gzip and corrupt brotli: 400', async () => {
    const truncated = zlib.gzipSync(Buffer.from(project)).subarray(0, 20);
    await refusedWithoutWrites(createProject(truncated, { 'Content-Encoding': 'gzip' }), 400);
    await refusedWithoutWrites(createProject('definitely not brotli', { 'Content-Encoding': 'br' }), 400, 'BAD_CONTENT_ENCODING');
  });

  it('an encoding we do not support: 415', async () => {
    const res = await refusedWithoutWrites(createProject(project, { 'Content-Encoding': 'compress' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expect(res.json.error.message).toMatch(/compress/);
  });

  it('NDJSON imports too: corrupt gzip 400, unknown encoding 415, real gzip imported', async () => {
    const ndjson = (body: Buffer | string, encoding: string) =>
      send('POST', `/api/v1/projects/${projectId}/items`, { ...auth, 'Content-Type': 'application/x-ndjson', 'Content-Encoding': encoding }, body);
    await refusedWithoutWrites(ndjson('{"data":{"text":"x"}}\n', 'gzip'), 400, 'BAD_CONTENT_ENCODING');
    await refusedWithoutWrites(ndjson('{"data":{"text":"x"}}\n', 'zstd'), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const ok = await ndjson(zlib.gzipSync('{"data":{"text":"zipped 1"}}\n{"data":{"text":"zipped 2"}}\n'), 'gzip')();
    expect(ok.status).toBe(201);
    expect(ok.json.inserted).toBe(2);
  });

  it('real gzip is decoded and accepted', async () => {
    const res = await createProject(zlib.gzipSync(Buffer.from(project)), { 'Content-Encoding': 'gzip' })();
    expect(res.status).toBe(201);
  });
});

describe('methods: 405 with Allow', () => {
  it.each(['TRACE', 'QUERY', 'PROPFIND', 'CONNECT'])('%s is refused on a route that exists', async (method) => {
    const path = method === 'CONNECT' ? '127.0.0.1:80' : '/api/v1/projects';
    const res = await refusedWithoutWrites(send(method, path, auth), 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toMatch(/GET/);
  });

  it('a method the path does not have lists the ones it does', async () => {
    const res = await refusedWithoutWrites(send('DELETE', '/api/v1/projects', auth), 405, 'METHOD_NOT_ALLOWED');
    expect(res.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    const health = await refusedWithoutWrites(send('POST', '/health', {}, '{}'), 405, 'METHOD_NOT_ALLOWED');
    expect(health.headers.allow).toBe('GET, HEAD, OPTIONS');
  });

  it('a method the HTTP parser does not know at all is still an answer, not a reset', async () => {
    const res = await refusedWithoutWrites(send('FROBNICATE', '/api/v1/projects', auth), 405);
    expect(res.headers.allow).toMatch(/GET/);
  });

  it('OPTIONS answers 204 with Allow; an unknown path with a known method stays 404', async () => {
    const options = await send('OPTIONS', '/api/v1/projects', {})();
    expect(options.status).toBe(204);
    expect(options.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    await refusedWithoutWrites(send('GET', '/api/v1/nowhere', auth), 404, 'NOT_FOUND');
  });
});

describe('oversized headers and tokens', () => {
  it('a 200 KB token: 431 in the error shape, not a reset', async () => {
    await refusedWithoutWrites(send('GET', '/api/v1/projects', { Authorization: `Bearer ${'a'.repeat(200_000)}` }), 431, 'HEADERS_TOO_LARGE');
  });

  it('a 12 KB token (under the header limit): 401 without verifying it', async () => {
    const res = await refusedWithoutWrites(send('GET', '/api/v1/projects', { Authorization: `Bearer ${'a'.repeat(12_000)}` }), 401, 'UNAUTHORIZED');
    expect(res.json.error.message).toMatch(/longer than/);
  });
});

describe('decimal fields take plain decimals only: 422', () => {
  it.each(['1e5', '+5', '0x10', ' 5', '5.', 'Infinity'])('max_cost_usd %j', async (budget) => {
    const body = JSON.stringify({ project_id: projectId, max_cost_usd: budget });
    const res = await refusedWithoutWrites(send('POST', '/api/v1/annotation/pre-annotate', jsonHeaders, body), 422, 'VALIDATION_ERROR');
    expect(res.json.error.details).toContainEqual({ field: 'max_cost_usd', message: expect.stringMatching(/plain decimal/) });
  });

  it.each(['1e-3', '+0.001', '0x1', '.5'])('engine price %j', async (price) => {
    const body = JSON.stringify({ name: `e-${price}`, provider: 'openai', model: 'm', price: { input_per_1k: price, output_per_1k: '0.002' } });
    const res = await refusedWithoutWrites(send('POST', '/api/v1/annotation/engines', jsonHeaders, body), 422, 'VALIDATION_ERROR');
    expect(res.json.error.details).toContainEqual({ field: 'price.input_per_1k', message: expect.any(String) });
  });
});
