import { SharedRateLimiter } from '../../src/llm/shared-rate-limiter';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * The shared buckets on a real PostgreSQL: several limiters (as several processes would hold,
 * each with a pool of its own) take from one pair of buckets per engine.
 */
let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase('anno_shared_limiter');
});
afterAll(async () => {
  await tdb?.drop();
});

test('three limiters together grant no more than the engine allows: a full bucket, then the refill rate', async () => {
  const limiters = [new SharedRateLimiter(tdb.db), new SharedRateLimiter(tdb.db), new SharedRateLimiter(tdb.db)];
  const limits = { rpm: 600 }; // a bucket of 600 requests, refilled at 10 a second
  const grants: number[] = [];
  const t0 = Date.now();
  const stopAt = t0 + 3000;
  await Promise.all(
    limiters.flatMap((l) =>
      Array.from({ length: 8 }, async () => {
        while (Date.now() < stopAt) {
          await l.acquire('engine-rpm', limits, 10);
          if (Date.now() < stopAt) grants.push(Date.now() - t0);
        }
      }),
    ),
  );
  const elapsedS = (Math.max(...grants) - 0) / 1000;
  const allowed = 600 + 10 * elapsedS;
  console.log(`shared rpm 600 over ${elapsedS.toFixed(2)} s from 3 limiters: ${grants.length} grants (allowed ≤ ${allowed.toFixed(0)})`);
  expect(grants.length).toBeLessThanOrEqual(Math.ceil(allowed) + 1);
  expect(grants.length).toBeGreaterThanOrEqual(600);
}, 30_000);

test('tokens are weighted and settled; a pause set by one limiter holds for the others', async () => {
  const [a, b] = [new SharedRateLimiter(tdb.db), new SharedRateLimiter(tdb.db)];
  const limits = { tpm: 6000 }; // 100 tokens a second
  await a.acquire('engine-tpm', limits, 6000); // the whole bucket
  a.settle('engine-tpm', 6000, 3000); // the call used half: 3,000 come back
  await new Promise((r) => setTimeout(r, 100)); // settle is written behind
  const t0 = Date.now();
  await b.acquire('engine-tpm', limits, 3000);
  expect(Date.now() - t0).toBeLessThan(500); // the refund, not a minute's refill

  b.pause('engine-paused', 1);
  await new Promise((r) => setTimeout(r, 100));
  const t1 = Date.now();
  await a.acquire('engine-paused', { rpm: 1000 }, 1);
  expect(Date.now() - t1).toBeGreaterThanOrEqual(700);
}, 30_000);

test('an aborted waiter leaves the queue and the next one is served', async () => {
  const l = new SharedRateLimiter(tdb.db);
  await l.acquire('engine-abort', { rpm: 1 }, 1); // empty now, one a minute
  const ctrl = new AbortController();
  const waiting = l.acquire('engine-abort', { rpm: 1 }, 1, ctrl.signal);
  setTimeout(() => ctrl.abort(new Error('gave up')), 200);
  await expect(waiting).rejects.toThrow('gave up');
  expect(l.waiting('engine-abort')).toBe(0);
});
