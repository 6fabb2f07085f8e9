import { loadConfig, ConfigError } from '../../src/config';
import { TestApi, errorOf, startTestApi } from '../helpers/api';
import { TestDatabase, createTestDatabase } from '../helpers/db';

/**
 * Anonymous callers are rate limited per client IP. Behind TRUST_PROXY load balancers that IP is
 * taken from X-Forwarded-For (that many hops from the right); without it the header is ignored,
 * so a client cannot pick its own bucket.
 */
let tdb: TestDatabase;
let behindLb: TestApi;
let direct: TestApi;

beforeAll(async () => {
  tdb = await createTestDatabase();
  [behindLb, direct] = await Promise.all([
    startTestApi({ db: tdb.db, env: { TRUST_PROXY: '1', RATE_LIMIT_PER_MINUTE: '2' } }),
    startTestApi({ db: tdb.db, env: { RATE_LIMIT_PER_MINUTE: '2' } }),
  ]);
});
afterAll(async () => {
  await Promise.all([behindLb?.close(), direct?.close()]);
  await tdb?.drop();
});

const from = (api: TestApi, xff: string) => api.request('/api/v1/projects', { headers: { 'X-Forwarded-For': xff } });

test('TRUST_PROXY=1: each client behind the load balancer has its own bucket; a spoofed left entry does not help', async () => {
  // The load balancer appends the address it saw; what the client wrote stays on the left.
  expect((await from(behindLb, '203.0.113.1')).status).toBe(401);
  expect((await from(behindLb, 'spoof-1, 203.0.113.1')).status).toBe(401);
  const limited = await from(behindLb, 'spoof-2, 203.0.113.1');
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  expect((await errorOf(limited)).code).toBe('RATE_LIMITED');
  // Another client through the same load balancer (same socket address) is not limited.
  const other = await from(behindLb, '198.51.100.7');
  expect(other.status).toBe(401);
  expect(other.headers.get('x-ratelimit-remaining')).toBe('1');
});

test('without TRUST_PROXY, X-Forwarded-For is ignored: changing it does not buy a new bucket', async () => {
  expect((await from(direct, '203.0.113.1')).status).toBe(401);
  expect((await from(direct, '203.0.113.2')).status).toBe(401);
  expect((await from(direct, '203.0.113.3')).status).toBe(429);
});

test('TRUST_PROXY is validated: a whole number of proxies from 0 to 10', () => {
  expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
  expect(loadConfig({}).TRUST_PROXY).toBe(0);
  for (const bad of ['yes', '-1', '11', '1.5']) expect(() => loadConfig({ TRUST_PROXY: bad })).toThrow(ConfigError);
});
