import crypto from 'node:crypto';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../src/llm/builtin-engines';
import type { ResolveHost } from '../../src/llm/providers/egress';
import { createSwitcher } from '../../src/llm/switcher';
import { AllEnginesFailedError } from '../../src/llm/types';
import { hostPolicyFor } from '../../src/net/host-policy';
import { TestApi, errorOf, startTestApi, tokenFor } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';
import { FakeOpenAI, startFakeOpenAI } from '../helpers/fake-openai';
import { closedPort, startTcpSink, type TcpSink } from '../helpers/tcp-sink';

/**
 * Outbound calls go only where ENGINE_ALLOWED_HOSTS allows (issue 10, points 1 and 3): base_url
 * checked at registration and update, every call checked after DNS resolution with no connection
 * made when refused, errors that name a class and never the socket text, no redirects, and
 * engine changes only by admins and managers without a projects restriction.
 */
let tdb: TestDatabase;
let fake: FakeOpenAI;
/** NODE_ENV=production, ENGINE_ALLOWED_HOSTS unset: public addresses only; names resolve through `dns`. */
let prod: TestApi;
/** ENGINE_ALLOWED_HOSTS without 127.0.0.1 (names through the system resolver). */
let listed: TestApi;
/** NODE_ENV=test: loopback allowed (the fake providers), for failure classes and scopes. */
let local: TestApi;

const tenant = `te-${crypto.randomBytes(3).toString('hex')}`;
const admin = tokenFor({ tenantId: tenant, sub: 'admin', roles: ['admin'] });
const manager = tokenFor({ tenantId: tenant, sub: 'manager', roles: ['manager'] });

/** The production API's DNS: a name we control, re-pointable like an attacker's zone. */
const dns = new Map<string, string[]>();
const lookups: string[] = [];
const resolveHost: ResolveHost = async (hostname) => {
  lookups.push(hostname);
  const answer = dns.get(hostname);
  if (!answer) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return answer.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};
const PUBLIC_IP = '93.184.216.34';

beforeAll(async () => {
  [tdb, fake] = await Promise.all([createTestDatabase(), startFakeOpenAI()]);
  [prod, listed, local] = await Promise.all([
    startTestApi({ db: tdb.db, env: { NODE_ENV: 'production' }, resolveHost }),
    startTestApi({ db: tdb.db, env: { ENGINE_ALLOWED_HOSTS: 'api.openai.com, 10.0.0.0/8' } }),
    startTestApi({ db: tdb.db }),
  ]);
});
afterAll(async () => {
  await Promise.all([prod?.close(), listed?.close(), local?.close()]);
  await fake?.close();
  await tdb?.drop();
});

const call = (api: TestApi, method: string, path: string, token: string, json?: unknown) => api.request(`/api/v1${path}`, { method, token, json });
const engineBody = (base_url: string | null, extra: Record<string, unknown> = {}) => ({
  name: `e-${crypto.randomBytes(4).toString('hex')}`,
  provider: 'openai',
  model: 'good-model',
  base_url,
  ...extra,
});
async function register(api: TestApi, base_url: string | null, token = manager, extra: Record<string, unknown> = {}) {
  const res = await call(api, 'POST', '/annotation/engines', token, engineBody(base_url, extra));
  return { res, body: (await res.json()) as any };
}
async function probe(api: TestApi, engineId: string, body: Record<string, unknown> = {}) {
  const res = await call(api, 'POST', `/annotation/engines/${engineId}/health`, manager, body);
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; error?: string };
}
/** An engine row written behind the API: registered when its host was allowed (before DNS or the setting changed). */
async function engineRow(base_url: string, provider = 'openai') {
  const id = crypto.randomUUID();
  await tdb.db('engines').insert({ id, tenant_id: tenant, name: `row-${id.slice(0, 8)}`, provider, model: 'good-model', base_url });
  return id;
}
/** Nothing an error may carry about where it tried to connect. */
function expectNoSocketText(text: string, sink?: { port: number }) {
  for (const leak of ['ECONNREFUSED', 'ECONNRESET', 'hang up', '127.0.0.1', 'localhost', 'getaddrinfo', 'request to']) expect(text).not.toContain(leak);
  if (sink) expect(text).not.toContain(String(sink.port));
}

describe('registration and update check base_url (422 naming base_url, nothing written)', () => {
  it.each([
    'http://127.0.0.1:8080/v1',
    'http://localhost:11434/v1',
    'http://10.0.0.5/v1',
    'http://172.16.3.4/v1',
    'http://192.168.1.10/v1',
    'http://100.64.0.1/v1',
    'http://169.254.169.254/latest',
    'http://0.0.0.0:80',
    'http://2130706433/v1',
    'http://[::1]:8080/v1',
    'http://[::ffff:127.0.0.1]/v1',
    'http://[fd00::1]/v1',
    'http://[fe80::1]/v1',
  ])('production refuses %s', async (url) => {
    const before = await tdb.db('engines').where({ tenant_id: tenant }).count<{ count: string }[]>('* as count');
    const { res, body } = await register(prod, url);
    expect(res.status).toBe(422);
    expect(body.error.details.map((d: { field: string }) => d.field)).toEqual(['base_url']);
    expect(await tdb.db('engines').where({ tenant_id: tenant }).count('* as count')).toEqual(before);
  });

  it('production resolves names: private answers are refused, public ones allowed, an unknown name refused', async () => {
    dns.set('intranet.example', ['203.0.113.9', '192.168.7.7']);
    expect((await register(prod, 'http://intranet.example/v1')).res.status).toBe(422);
    dns.set('mapped.example', ['::ffff:10.1.1.1']);
    expect((await register(prod, 'http://mapped.example/v1')).res.status).toBe(422);
    expect((await register(prod, 'http://unknown.example/v1')).res.status).toBe(422);
    dns.set('api.example', [PUBLIC_IP]);
    expect((await register(prod, 'https://api.example/v1')).res.status).toBe(201);
    dns.set('api.openai.com', [PUBLIC_IP]);
    expect((await register(prod, null)).res.status).toBe(201); // the provider's own host, resolved and public
  });

  it('production refuses a PUT to a private base_url and keeps the stored one', async () => {
    dns.set('api.example', [PUBLIC_IP]);
    const { body: engine } = await register(prod, 'https://api.example/v1');
    const res = await call(prod, 'PUT', `/annotation/engines/${engine.id}`, manager, { base_url: 'http://169.254.169.254/latest' });
    expect(res.status).toBe(422);
    expect((await errorOf(res)).details.map((d) => d.field)).toEqual(['base_url']);
    expect((await tdb.db('engines').where({ id: engine.id }).first()).base_url).toBe('https://api.example/v1');
    // A change of other fields is not held up by the check.
    expect((await call(prod, 'PUT', `/annotation/engines/${engine.id}`, manager, { model: 'other' })).status).toBe(200);
  });

  it('an explicit ENGINE_ALLOWED_HOSTS replaces the default', async () => {
    expect((await register(listed, fake.baseUrl)).res.status).toBe(422); // 127.0.0.1: not listed, even outside production
    expect((await register(listed, 'http://10.20.30.40:8000/v1')).res.status).toBe(201); // in 10.0.0.0/8, though private
    expect((await register(listed, null)).res.status).toBe(201); // api.openai.com is listed
    const anthropic = await register(listed, null, manager, { provider: 'anthropic' });
    expect(anthropic.res.status).toBe(422); // api.anthropic.com is not
    expect(anthropic.body.error.details[0]).toMatchObject({ field: 'base_url', message: expect.stringContaining('api.anthropic.com') });
  });
});

describe('calls are checked when made, after DNS, and refused ones never connect', () => {
  let sink: TcpSink;
  beforeAll(async () => {
    sink = await startTcpSink('hang');
  });
  afterAll(async () => {
    await sink?.close();
  });

  it('DNS rebinding: a name that resolved publicly at registration and now resolves to loopback is refused, unconnected', async () => {
    dns.set('rebind.example', [PUBLIC_IP]);
    const { res, body: engine } = await register(prod, `http://rebind.example:${sink.port}/v1`);
    expect(res.status).toBe(201);
    dns.set('rebind.example', ['127.0.0.1']); // the attacker's zone now points inside
    const lookupsBefore = lookups.filter((h) => h === 'rebind.example').length;

    const result = await probe(prod, engine.id, { timeout_ms: 2000 });
    expect(result).toMatchObject({ status: 'down', error: 'host_not_allowed: the engine host is not allowed by ENGINE_ALLOWED_HOSTS; no connection was made' });
    expect(lookups.filter((h) => h === 'rebind.example').length).toBeGreaterThan(lookupsBefore); // checked at call time
    expect(sink.connections).toBe(0);
    const ledger = await tdb.db('llm_usage').where({ engine_id: engine.id }).first();
    expect(ledger).toMatchObject({ outcome: 'error', error: expect.stringMatching(/^host_not_allowed: /) });
  });

  it('a loopback literal and a name resolving to loopback (system DNS) are refused by a list without them, for OpenAI and Anthropic engines, unconnected', async () => {
    const urls = [sink.url, `http://localhost:${sink.port}/v1`];
    for (const [url, provider] of [...urls.map((u) => [u, 'openai']), ...urls.map((u) => [u, 'anthropic'])]) {
      const id = await engineRow(url, provider);
      const result = await probe(listed, id, { timeout_ms: 2000 });
      expect(result).toMatchObject({ status: 'down', error: expect.stringMatching(/^host_not_allowed: /) });
      expectNoSocketText(result.error!, sink);
    }
    expect(sink.connections).toBe(0);
  });

  it('suggestions and compare are refused the same way: class in the answer, no connection', async () => {
    const id = await engineRow(`http://localhost:${sink.port}/v1`);
    const project = (await (await call(listed, 'POST', '/projects', manager, { name: `p-${id.slice(0, 6)}`, label_schema: { type: 'single_label', labels: ['positive', 'negative'] } })).json()) as any;
    const res = await call(listed, 'POST', '/annotation/suggestion', manager, { project_id: project.id, data: { text: 'great' }, engine_id: id });
    expect(res.status).toBe(503);
    const details = (await errorOf(res)).details;
    expect(details).toEqual([{ field: `engines.${id}`, message: expect.stringMatching(/^host_not_allowed: /) }]);

    await call(listed, 'POST', `/projects/${project.id}/items`, manager, { items: [{ data: { text: 'fine' }, gold_label: { label: 'positive' } }] });
    const compared = await call(listed, 'POST', '/annotation/engines/compare', manager, { project_id: project.id, engine_ids: [id, BUILTIN_LOCAL_ENGINE_ID] });
    expect(compared.status).toBe(200);
    const mine = ((await compared.json()) as any).engines.find((e: any) => e.engine_id === id);
    expect(mine).toMatchObject({ answered: 0, failed: 1, errors: [{ reason: expect.stringMatching(/^host_not_allowed: /) }] });
    expect(sink.connections).toBe(0);
  });

  it('jobs: the switcher (as workers build it) fails the item with host_not_allowed, unconnected', async () => {
    const id = await engineRow(`http://localhost:${sink.port}/v1`);
    const switcher = createSwitcher({ db: tdb.db, timeoutMs: 2000, retry: { maxRetries: 2, baseDelayMs: 5 }, egress: { policy: hostPolicyFor({ nodeEnv: 'production', allowedHosts: undefined }), resolve: resolveHost } });
    dns.set('localhost', ['127.0.0.1', '::1']);
    const err = (await switcher
      .generate({ project: { tenantId: tenant, projectId: '', labelSchema: { type: 'single_label', labels: ['a', 'b'] } }, engineId: id, item: { text: 'x' } })
      .catch((e) => e)) as AllEnginesFailedError;
    expect(err).toBeInstanceOf(AllEnginesFailedError);
    expect(err.attempts).toEqual([{ engineId: id, attempt: 1, outcome: 'error', reason: expect.stringMatching(/^host_not_allowed: /) }]); // permanent: not retried
    expectNoSocketText(err.message, sink);
    expect(sink.connections).toBe(0);
  });

  it('the sink counts connections when a call is allowed (the proof above is not vacuous)', async () => {
    const id = await engineRow(sink.url);
    const result = await probe(local, id, { timeout_ms: 300 });
    expect(result).toMatchObject({ status: 'down', error: 'timeout: no answer within 300ms' });
    expect(sink.connections).toBe(1);
  });
});

describe('failure classes tell a caller nothing a port scan could use', () => {
  it('closed and reset ports read the same; a hanging one is a timeout; none carries socket text', async () => {
    const [reset, hang] = await Promise.all([startTcpSink('reset'), startTcpSink('hang')]);
    try {
      const closed = await probe(local, await engineRow(`http://127.0.0.1:${await closedPort()}/v1`), { timeout_ms: 1000 });
      const hungUp = await probe(local, await engineRow(reset.url), { timeout_ms: 1000 });
      const hanging = await probe(local, await engineRow(hang.url), { timeout_ms: 400 });
      expect(closed).toMatchObject({ status: 'down', error: 'connection_failed: could not connect to the engine' });
      expect(hungUp.error).toBe(closed.error);
      expect(hanging).toMatchObject({ status: 'down', error: 'timeout: no answer within 400ms' });
      for (const r of [closed, hungUp, hanging]) expectNoSocketText(r.error!, reset);
      expect(reset.connections).toBe(1);
    } finally {
      await Promise.all([reset.close(), hang.close()]);
    }
  });

  it('redirects are not followed, to a disallowed host or any other', async () => {
    const target = await startTcpSink('hang', '127.0.0.2'); // not in ENGINE_ALLOWED_HOSTS below
    const allowedTarget = await startTcpSink('hang');
    const toDisallowed = await startTcpSink({ redirect: `${target.url}/chat/completions` });
    const toAllowed = await startTcpSink({ redirect: `${allowedTarget.url}/chat/completions` });
    const strict = await startTestApi({ db: tdb.db, env: { ENGINE_ALLOWED_HOSTS: '127.0.0.1' } });
    try {
      for (const [api, redirector] of [[strict, toDisallowed], [local, toAllowed]] as const) {
        const result = await probe(api, await engineRow(redirector.url), { timeout_ms: 1000 });
        expect(result).toMatchObject({ status: 'down', error: 'redirect_not_followed: http 302: redirects are not followed' });
        expect(redirector.connections).toBe(1);
      }
      expect(target.connections).toBe(0);
      expect(allowedTarget.connections).toBe(0);
    } finally {
      await strict.close();
      await Promise.all([target, allowedTarget, toDisallowed, toAllowed].map((s) => s.close()));
    }
  });

  it('an HTTP failure of an allowed engine keeps its status class', async () => {
    fake.setFault((r) => (r.model === 'broken' ? { status: 503 } : null));
    const { body: engine } = await register(local, fake.baseUrl, manager, { model: 'broken' });
    expect(await probe(local, engine.id)).toMatchObject({ status: 'down', error: expect.stringMatching(/^http_5xx: http 503/) });
  });
});

describe('engine changes need admin or a manager without a projects restriction', () => {
  it('a restricted manager gets 403 on POST and PUT, and nothing is written; admin and an unrestricted manager may', async () => {
    const restricted = tokenFor({ tenantId: tenant, sub: 'manager-p1', roles: ['manager'], projects: [crypto.randomUUID()] });
    const noProjects = tokenFor({ tenantId: tenant, sub: 'manager-none', roles: ['manager'], projects: [] });
    const { body: engine } = await register(local, fake.baseUrl, manager);

    const name = `restricted-${crypto.randomBytes(3).toString('hex')}`;
    for (const token of [restricted, noProjects]) {
      const created = await call(local, 'POST', '/annotation/engines', token, { ...engineBody(fake.baseUrl), name });
      expect(created.status).toBe(403);
      expect((await errorOf(created)).code).toBe('FORBIDDEN');
      const updated = await call(local, 'PUT', `/annotation/engines/${engine.id}`, token, { base_url: 'http://127.0.0.1:1/v1', model: 'hijacked' });
      expect(updated.status).toBe(403);
    }
    expect(await tdb.db('engines').where({ tenant_id: tenant, name }).first()).toBeUndefined();
    expect(await tdb.db('engines').where({ id: engine.id }).first()).toMatchObject({ base_url: fake.baseUrl, model: 'good-model' });
    // It can still read and probe them (its projects route to them).
    expect((await call(local, 'GET', `/annotation/engines/${engine.id}`, restricted)).status).toBe(200);

    expect((await register(local, fake.baseUrl, admin)).res.status).toBe(201);
    expect((await register(local, fake.baseUrl, manager)).res.status).toBe(201);
    expect((await call(local, 'PUT', `/annotation/engines/${engine.id}`, admin, { model: 'by-admin' })).status).toBe(200);
    expect((await call(local, 'PUT', `/annotation/engines/${engine.id}`, manager, { model: 'by-manager' })).status).toBe(200);
    const adminRestricted = tokenFor({ tenantId: tenant, sub: 'admin-p1', roles: ['admin'], projects: [crypto.randomUUID()] });
    expect((await call(local, 'PUT', `/annotation/engines/${engine.id}`, adminRestricted, { model: 'by-admin-p1' })).status).toBe(200);
  });
});
