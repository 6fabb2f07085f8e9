import crypto from 'node:crypto';
import { TestApi, errorOf, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';

let tdb: TestDatabase;
let api: TestApi;
const tenant = `t-${crypto.randomBytes(3).toString('hex')}`;
const admin = tokenFor({ tenantId: tenant, sub: 'admin-1', roles: ['admin'] });

beforeAll(async () => {
  tdb = await createTestDatabase();
  api = await startTestApi({ db: tdb.db });
});
afterAll(async () => {
  await api?.close();
  await tdb?.drop();
});

function expectErrorShape(e: Awaited<ReturnType<typeof errorOf>>, code: string) {
  expect(e.code).toBe(code);
  expect(typeof e.message).toBe('string');
  expect(Array.isArray(e.details)).toBe(true);
  expect(e.correlation_id).toEqual(expect.any(String));
  expect(new Date(e.timestamp).toISOString()).toBe(e.timestamp);
}

describe('operational routes', () => {
  it('GET /health answers without a token', async () => {
    const res = await api.request('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /metrics exposes the HTTP histogram with route templates', async () => {
    await api.request('/api/v1/projects', { token: admin });
    const res = await api.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(text).toMatch(/http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/projects",status="200"\} \d+/);
    for (const name of ['anno_jobs_started_total', 'anno_llm_calls_total', 'anno_llm_tokens_total', 'anno_llm_cost_usd_total', 'anno_llm_cache_hits_total', 'anno_websocket_connections']) {
      expect(text).toContain(`# TYPE ${name}`);
    }
  });

  it('GET /openapi.json describes every route with its schemas and the error shape', async () => {
    const res = await api.request('/openapi.json');
    expect(res.status).toBe(200);
    const doc = (await res.json()) as any;
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.info.title).toEqual(expect.any(String));
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(ops).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'GET /openapi.json',
        'POST /api/v1/projects',
        'GET /api/v1/projects',
        'GET /api/v1/projects/{project_id}',
        'POST /api/v1/projects/{project_id}/items',
        'GET /api/v1/projects/{project_id}/items',
        'POST /api/v1/projects/{project_id}/members',
        'GET /api/v1/projects/{project_id}/members',
      ]),
    );
    const create = doc.paths['/api/v1/projects'].post;
    expect(create.security).toEqual([{ bearerAuth: [] }]);
    expect(create.requestBody.content['application/json'].schema).toBeDefined();
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '401', '403', '422', '429']));
    expect(create.responses['422'].content['application/json'].schema.$ref).toBe('#/components/schemas/Error');
    const importOp = doc.paths['/api/v1/projects/{project_id}/items'].post;
    expect(Object.keys(importOp.requestBody.content)).toEqual(['application/json', 'application/x-ndjson']);
    expect(importOp.parameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'project_id', in: 'path', required: true })]));
    const list = doc.paths['/api/v1/projects'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['page', 'page_size']));
    expect(doc.components.schemas.Error).toBeDefined();
    expect(doc.components.schemas.Project).toBeDefined();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/health'].get.security).toEqual([]);
  });
});

describe('headers on every response', () => {
  it('echoes X-Correlation-ID, or X-Request-ID, or makes one', async () => {
    const echoed = await api.request('/health', { headers: { 'X-Correlation-ID': 'abc-123' } });
    expect(echoed.headers.get('x-correlation-id')).toBe('abc-123');
    const fromRequestId = await api.request('/health', { headers: { 'X-Request-ID': 'req-9' } });
    expect(fromRequestId.headers.get('x-correlation-id')).toBe('req-9');
    const generated = await api.request('/health');
    expect(generated.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    // An id that could smuggle anything into logs or headers is replaced.
    const unsafe = await api.request('/health', { headers: { 'X-Correlation-ID': 'a b<script>' } });
    expect(unsafe.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets X-Response-Time and rate-limit headers, errors included', async () => {
    for (const res of [await api.request('/health'), await api.request('/api/v1/projects'), await api.request('/nope')]) {
      expect(res.headers.get('x-response-time')).toMatch(/^\d+\.\d+ms$/);
      expect(res.headers.get('x-ratelimit-limit')).toBe(String(api.deps.config.RATE_LIMIT_PER_MINUTE));
      expect(Number(res.headers.get('x-ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
      const reset = Number(res.headers.get('x-ratelimit-reset'));
      expect(reset).toBeGreaterThan(Date.now() / 1000);
      expect(reset).toBeLessThanOrEqual(Date.now() / 1000 + 61);
      expect(res.headers.get('x-correlation-id')).toBeTruthy();
    }
  });

  it('puts the correlation id of the response in the error body', async () => {
    const res = await api.request('/api/v1/projects', { headers: { 'X-Correlation-ID': 'corr-42' } });
    expect((await errorOf(res)).correlation_id).toBe('corr-42');
  });
});

describe('error shape', () => {
  it('401 without a token, with a bad token, and with a non-Bearer header', async () => {
    const variants: Record<string, string>[] = [{}, { Authorization: 'Bearer not-a-jwt' }, { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }];
    for (const headers of variants) {
      const res = await api.request('/api/v1/projects', { headers });
      expect(res.status).toBe(401);
      expectErrorShape(await errorOf(res), 'UNAUTHORIZED');
    }
    const expired = tokenFor({ tenantId: tenant, sub: 'u', roles: ['admin'], expiresIn: -3600 });
    const res = await api.request('/api/v1/projects', { token: expired });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).message).toMatch(/expired/);
  });

  it('403 for a role that may not act', async () => {
    const viewer = tokenFor({ tenantId: tenant, sub: 'v', roles: ['viewer', 'annotator'] });
    const res = await api.request('/api/v1/projects', { method: 'POST', token: viewer, json: { name: 'x' } });
    expect(res.status).toBe(403);
    expectErrorShape(await errorOf(res), 'FORBIDDEN');
  });

  it('404 in the same shape for an unknown route', async () => {
    const res = await api.request('/api/v1/no-such-thing', { token: admin });
    expect(res.status).toBe(404);
    expectErrorShape(await errorOf(res), 'NOT_FOUND');
  });

  it('405 for a known path with another method', async () => {
    const res = await api.request('/api/v1/projects', { method: 'DELETE', token: admin });
    expect(res.status).toBe(405);
    expectErrorShape(await errorOf(res), 'METHOD_NOT_ALLOWED');
  });

  it('400 MALFORMED_JSON for a body that is not JSON', async () => {
    const res = await api.request('/api/v1/projects', {
      method: 'POST',
      token: admin,
      headers: { 'Content-Type': 'application/json' },
      body: '{"name": "x",',
    });
    expect(res.status).toBe(400);
    expectErrorShape(await errorOf(res), 'MALFORMED_JSON');
  });

  it('415 for a body that is not application/json', async () => {
    const res = await api.request('/api/v1/projects', {
      method: 'POST',
      token: admin,
      headers: { 'Content-Type': 'text/plain' },
      body: 'name=x',
    });
    expect(res.status).toBe(415);
    expectErrorShape(await errorOf(res), 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('413 for a body over BODY_LIMIT_BYTES', async () => {
    const small = await startTestApi({ db: tdb.db, env: { BODY_LIMIT_BYTES: '2048' } });
    try {
      const big = { name: 'x'.repeat(4096), label_schema: { type: 'single_label', labels: ['a'] } };
      const res = await small.request('/api/v1/projects', { method: 'POST', token: admin, json: big });
      expect(res.status).toBe(413);
      expectErrorShape(await errorOf(res), 'PAYLOAD_TOO_LARGE');
      // Chunked (no Content-Length): caught while reading.
      const chunked = await small.request('/api/v1/projects', {
        method: 'POST',
        token: admin,
        headers: { 'Content-Type': 'application/json' },
        body: new Blob([JSON.stringify(big)]).stream(),
        duplex: 'half',
      } as never);
      expect(chunked.status).toBe(413);
    } finally {
      await small.close();
    }
  });

  it('422 VALIDATION_ERROR names each field', async () => {
    const res = await api.request('/api/v1/projects?page=0&page_size=1000', { token: admin });
    expect(res.status).toBe(422);
    const e = await errorOf(res);
    expectErrorShape(e, 'VALIDATION_ERROR');
    expect(e.details.map((d) => d.field).sort()).toEqual(['page', 'page_size']);
  });
});

describe('rate limiting', () => {
  it('answers 429 with Retry-After once a user spends the limit; other users and IPs are separate', async () => {
    const limited = await startTestApi({ db: tdb.db, env: { RATE_LIMIT_PER_MINUTE: '3' } });
    try {
      const alice = tokenFor({ tenantId: tenant, sub: 'alice', roles: ['viewer'] });
      const bob = tokenFor({ tenantId: tenant, sub: 'bob', roles: ['viewer'] });
      const statuses: number[] = [];
      const remaining: (string | null)[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await limited.request('/api/v1/projects', { token: alice });
        statuses.push(res.status);
        remaining.push(res.headers.get('x-ratelimit-remaining'));
        if (res.status === 429) {
          const retryAfter = Number(res.headers.get('retry-after'));
          expect(retryAfter).toBeGreaterThan(0);
          expect(retryAfter).toBeLessThanOrEqual(60);
          expect(res.headers.get('x-ratelimit-limit')).toBe('3');
          expectErrorShape(await errorOf(res), 'RATE_LIMITED');
        }
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      expect(remaining).toEqual(['2', '1', '0', '0']);
      expect((await limited.request('/api/v1/projects', { token: bob })).status).toBe(200);
      // Without a token the IP is the key: a fresh budget, spent independently.
      const anon = [];
      for (let i = 0; i < 4; i++) anon.push((await limited.request('/health')).status);
      expect(anon).toEqual([200, 200, 200, 429]);
    } finally {
      await limited.close();
    }
  });
});
