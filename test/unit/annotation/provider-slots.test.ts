import { lookahead, ProviderSlots } from '../../../src/annotation/provider-slots';

const tick = () => new Promise((r) => setImmediate(r));


test('lookahead is a quarter of the slots, at least one', () => {
  expect(lookahead(1)).toBe(1);
  expect(lookahead(4)).toBe(1);
  expect(lookahead(32)).toBe(8);
  expect(lookahead(64)).toBe(16);
  expect(lookahead(65)).toBe(17);
});

test('calls never exceed the worker limit; at most `lookahead` items wait with their row written', async () => {
  const slots = new ProviderSlots(8);
  const job = slots.forJob({ tenantId: 'T', jobId: 'j' }, 100);
  // Each item "prepares" (its write-ahead row) past the gate, then holds a slot for its call.
  const c = { preparing: 0, waiting: 0, calling: 0, maxCalling: 0, maxWaiting: 0, maxPast: 0 };
  await Promise.all(
    Array.from({ length: 200 }, () =>
      job.run(async (callSlot) => {
        c.maxPast = Math.max(c.maxPast, ++c.preparing + c.waiting + c.calling);
        await tick(); // the write-ahead row
        c.preparing--;
        c.waiting++;
        c.maxWaiting = Math.max(c.maxWaiting, c.waiting);
        await callSlot(async () => {
          c.waiting--;
          c.maxCalling = Math.max(c.maxCalling, ++c.calling);
          await new Promise((r) => setTimeout(r, 1));
          c.calling--;
        });
      }),
    ),
  );
  job.done();
  expect(c.maxCalling).toBe(8);
  expect(c.maxPast).toBe(8 + lookahead(8));
  // Ready items beyond the calls: the lookahead (and, for a moment, the ones a freed slot just left).
  expect(c.maxWaiting).toBeLessThanOrEqual(8 + lookahead(8));
  expect(c.maxWaiting).toBeGreaterThanOrEqual(lookahead(8));
  expect(slots.callsInFlight).toBe(0);
});

test("a job's concurrency bounds its calls and its lookahead, across its batches", async () => {
  const slots = new ProviderSlots(64);
  const key = { tenantId: 'T', jobId: 'j' };
  const batches = [slots.forJob(key, 4), slots.forJob(key, 4)];
  let calling = 0;
  let maxCalling = 0;
  let past = 0;
  let maxPast = 0;
  await Promise.all(
    batches.flatMap((batch) =>
      Array.from({ length: 40 }, () =>
        batch.run(async (callSlot) => {
          maxPast = Math.max(maxPast, ++past);
          await callSlot(async () => {
            maxCalling = Math.max(maxCalling, ++calling);
            await new Promise((r) => setTimeout(r, 1));
            calling--;
          });
          past--;
        }),
      ),
    ),
  );
  batches.forEach((b) => b.done());
  expect(maxCalling).toBe(4);
  expect(maxPast).toBe(4 + lookahead(4));
});

test('a freed slot goes to a call that is ready, round robin between tenants', async () => {
  const slots = new ProviderSlots(1);
  const order: string[] = [];
  const run = (tenantId: string, n: number) => {
    const job = slots.forJob({ tenantId, jobId: `${tenantId}-job` }, 10);
    return Array.from({ length: n }, () =>
      job.run((callSlot) =>
        callSlot(async () => {
          order.push(tenantId);
          await tick();
        }),
      ),
    );
  };
  await Promise.all([...run('A', 20), ...run('B', 3)]);
  // B's three calls come among the first grants, not after A's twenty.
  expect(order.lastIndexOf('B')).toBeLessThanOrEqual(8);
  expect(order).toHaveLength(23);
});
