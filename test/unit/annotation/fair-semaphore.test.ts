import { FairSemaphore } from '../../../src/annotation/fair-semaphore';

/** Queues `n` holders for a key, each taking one tick; records the order in which they ran. */
function enqueue(sem: FairSemaphore, order: string[], tenantId: string, jobId: string, n: number) {
  return Array.from({ length: n }, () =>
    sem.use({ tenantId, jobId }, async () => {
      order.push(`${tenantId}/${jobId}`);
      await new Promise((r) => setImmediate(r));
    }),
  );
}

test('a tenant that queued late gets every other slot, not the end of the queue', async () => {
  const sem = new FairSemaphore(1);
  const order: string[] = [];
  const all = [...enqueue(sem, order, 'A', 'big', 100), ...enqueue(sem, order, 'B', 'small', 5)];
  await Promise.all(all);
  const lastB = order.lastIndexOf('B/small');
  // Round robin: B's five run among the first eleven grants (A took the first slot before B queued).
  expect(lastB).toBeLessThanOrEqual(11);
  expect(order.filter((o) => o === 'B/small')).toHaveLength(5);
  expect(order).toHaveLength(105);
});

test('within a tenant, jobs take turns; each job keeps its arrival order', async () => {
  const sem = new FairSemaphore(1);
  const seen: string[] = [];
  const run = (jobId: string, i: number) => sem.use({ tenantId: 'T', jobId }, async () => void seen.push(`${jobId}${i}`));
  await Promise.all([run('x', 0), run('x', 1), run('x', 2), run('y', 0), run('y', 1)]);
  expect(seen).toEqual(['x0', 'x1', 'y0', 'x2', 'y1']);
});

test('never more than `limit` holders; every slot is returned', async () => {
  const sem = new FairSemaphore(3);
  let inFlight = 0;
  let max = 0;
  const work = Array.from({ length: 50 }, (_, i) =>
    sem.use({ tenantId: `t${i % 4}`, jobId: `j${i % 7}` }, async () => {
      max = Math.max(max, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
    }),
  );
  await Promise.all(work);
  expect(max).toBe(3);
  expect(sem.inUse).toBe(0);
  expect(sem.waiting).toBe(0);
});

test('a holder that throws still frees its slot', async () => {
  const sem = new FairSemaphore(1);
  await expect(sem.use({ tenantId: 'a', jobId: 'b' }, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  await expect(sem.use({ tenantId: 'a', jobId: 'b' }, async () => 42)).resolves.toBe(42);
});
