import { SingleFlight } from '../../../src/llm/single-flight';

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('SingleFlight', () => {
  it('runs one attempt per key at a time; waiters get the leader’s answer', async () => {
    const flights = new SingleFlight();
    const gate = deferred<string>();
    const calls: (string | undefined)[] = [];
    const attempt = async (joined: string | undefined) => {
      calls.push(joined);
      return joined ?? (await gate.promise);
    };
    const all = Promise.all([1, 2, 3].map(() => flights.run('k', undefined, attempt, (r) => r)));
    const other = flights.run('other', undefined, async () => 'x', (r) => r);
    await tick();
    expect(calls).toEqual([undefined]); // one leader for 'k'; the others wait
    gate.resolve('answer');
    expect(await all).toEqual(['answer', 'answer', 'answer']);
    expect(await other).toBe('x');
    expect(calls).toEqual([undefined, 'answer', 'answer']);
    expect(flights.size).toBe(0);
  });

  it('after a failed leader, the waiters go on one at a time', async () => {
    const flights = new SingleFlight();
    let running = 0;
    let maxRunning = 0;
    let n = 0;
    const attempt = async (joined: string | undefined) => {
      if (joined) return joined;
      running++;
      maxRunning = Math.max(maxRunning, running);
      await tick();
      running--;
      return ++n < 3 ? null : 'third time lucky';
    };
    const results = await Promise.all([1, 2, 3, 4].map(() => flights.run('k', undefined, attempt, (r) => r ?? undefined)));
    expect(maxRunning).toBe(1);
    expect(n).toBe(3); // two failed leaders, the third answered the rest
    expect(results).toEqual([null, null, 'third time lucky', 'third time lucky']);
  });

  it('a waiter stops waiting when its signal aborts; a leader that throws frees the key', async () => {
    const flights = new SingleFlight();
    const gate = deferred<string>();
    const leader = flights.run('k', undefined, () => gate.promise, (r) => r);
    const controller = new AbortController();
    const waiter = flights.run('k', controller.signal, async (j) => j, (r) => r);
    controller.abort(new Error('gave up'));
    await expect(waiter).rejects.toThrow('gave up');
    gate.resolve('late');
    expect(await leader).toBe('late');

    await expect(flights.run('k', undefined, async () => Promise.reject(new Error('boom')), () => undefined)).rejects.toThrow('boom');
    expect(flights.size).toBe(0);
    expect(await flights.run('k', undefined, async (j) => j ?? 'fresh', (r) => r)).toBe('fresh');
  });
});
