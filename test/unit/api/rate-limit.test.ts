import { ClientRateLimit } from '../../../src/api/middleware/rate-limit';

describe('ClientRateLimit', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('allows `limit` requests per window and key, then refuses until the window resets', () => {
    const limiter = new ClientRateLimit(3, { windowMs: 60_000, now: clock });
    const hits = [1, 2, 3, 4].map(() => limiter.hit('user:a'));
    expect(hits.map((h) => h.allowed)).toEqual([true, true, true, false]);
    expect(hits.map((h) => h.remaining)).toEqual([2, 1, 0, 0]);
    expect(hits[3].resetAt).toBe(now + 60_000);
    expect(hits[3].retryAfterSeconds).toBe(60);
    // Another key has its own window.
    expect(limiter.hit('user:b').allowed).toBe(true);
    now += 30_000;
    expect(limiter.hit('user:a').retryAfterSeconds).toBe(30);
    now += 30_000;
    const fresh = limiter.hit('user:a');
    expect(fresh).toMatchObject({ allowed: true, remaining: 2, resetAt: now + 60_000 });
  });

  it('sweeps expired windows so the map does not grow without bound', () => {
    const limiter = new ClientRateLimit(5, { windowMs: 1000, now: clock });
    for (let i = 0; i < 100; i++) limiter.hit(`ip:10.0.0.${i}`);
    expect(limiter.size).toBe(100);
    now += 1500;
    limiter.hit('ip:other');
    expect(limiter.size).toBe(1);
  });
});
