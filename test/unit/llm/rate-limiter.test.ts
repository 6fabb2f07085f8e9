import { estimateTokens, EngineRateLimiter } from '../../../src/llm/rate-limiter';

/** A manual clock: the limiter reads `now`, its timers run under jest's fake timers. */
function setup() {
  jest.useFakeTimers({ now: 1_000_000 });
  const limiter = new EngineRateLimiter({ now: () => Date.now() });
  return limiter;
}

async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

afterEach(() => jest.useRealTimers());

describe('EngineRateLimiter', () => {
  it('passes at once without limits', async () => {
    const limiter = setup();
    for (let i = 0; i < 1000; i++) expect(await settled(limiter.acquire('e', null, 10_000))).toBe(true);
  });

  it('allows a burst of rpm requests, then one per 60/rpm seconds, in FIFO order', async () => {
    const limiter = setup();
    const limits = { rpm: 60 };
    for (let i = 0; i < 60; i++) await limiter.acquire('e', limits, 1);
    const order: number[] = [];
    const waits = [0, 1, 2].map((i) => limiter.acquire('e', limits, 1).then(() => order.push(i)));
    expect(limiter.waiting('e')).toBe(3);
    await jest.advanceTimersByTimeAsync(999);
    expect(order).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(order).toEqual([0]);
    await jest.advanceTimersByTimeAsync(2000);
    await Promise.all(waits);
    expect(order).toEqual([0, 1, 2]);
  });

  it('limits tokens per minute and settles estimates against real usage', async () => {
    const limiter = setup();
    const limits = { tpm: 6000 }; // 100 tokens a second
    await limiter.acquire('e', limits, 6000); // the whole bucket
    const next = limiter.acquire('e', limits, 500);
    expect(await settled(next)).toBe(false);
    await jest.advanceTimersByTimeAsync(4999);
    expect(await settled(next)).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await settled(next)).toBe(true);
    // The call used only 100 of its 500 estimated tokens: 400 come back at once.
    limiter.settle('e', 500, 100);
    expect(await settled(limiter.acquire('e', limits, 400))).toBe(true);
    // A call that used more than estimated leaves a debt the next one waits for.
    limiter.settle('e', 0, 300);
    const after = limiter.acquire('e', limits, 100);
    await jest.advanceTimersByTimeAsync(3999);
    expect(await settled(after)).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await settled(after)).toBe(true);
  });

  it('never waits forever for a request larger than the bucket', async () => {
    const limiter = setup();
    const big = limiter.acquire('e', { tpm: 1000 }, 50_000);
    expect(await settled(big)).toBe(true);
    const next = limiter.acquire('e', { tpm: 1000 }, 50_000);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(await settled(next)).toBe(true);
  });

  it('keeps engines independent', async () => {
    const limiter = setup();
    await limiter.acquire('a', { rpm: 1 }, 0);
    expect(await settled(limiter.acquire('a', { rpm: 1 }, 0))).toBe(false);
    expect(await settled(limiter.acquire('b', { rpm: 1 }, 0))).toBe(true);
  });

  it('pauses an engine for a Retry-After, even without configured limits', async () => {
    const limiter = setup();
    limiter.pause('e', 2.5);
    expect(limiter.pausedForMs('e')).toBe(2500);
    const p = limiter.acquire('e', null, 10);
    await jest.advanceTimersByTimeAsync(2499);
    expect(await settled(p)).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(await settled(p)).toBe(true);
    expect(limiter.pausedForMs('e')).toBe(0);
  });

  it('lets a waiting caller abort and keeps serving the queue', async () => {
    const limiter = setup();
    const limits = { rpm: 60 };
    for (let i = 0; i < 60; i++) await limiter.acquire('e', limits, 0);
    const controller = new AbortController();
    const aborted = limiter.acquire('e', limits, 0, controller.signal);
    const other = limiter.acquire('e', limits, 0);
    controller.abort(new Error('cancelled'));
    await expect(aborted).rejects.toThrow('cancelled');
    expect(limiter.waiting('e')).toBe(1);
    await jest.advanceTimersByTimeAsync(1000);
    expect(await settled(other)).toBe(true);
    await expect(limiter.acquire('e', limits, 0, AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('applies changed limits at once', async () => {
    const limiter = setup();
    await limiter.acquire('e', { rpm: 1 }, 0);
    expect(await settled(limiter.acquire('e', { rpm: 1000 }, 0))).toBe(true);
  });
});

describe('estimateTokens', () => {
  it('is a quarter of the characters plus the expected answer', () => {
    expect(estimateTokens(400)).toBe(150);
    expect(estimateTokens(401, 10)).toBe(111);
  });
});
