/**
 * A counting semaphore shared fairly: at most `limit` holders at once, and when holders wait, a
 * freed slot goes round robin first between tenants, then between the jobs of the tenant whose turn
 * it is (each job's waiters in arrival order). A tenant running a 20,000-item job and a tenant
 * running a 200-item one each get every other slot, instead of the second waiting behind the
 * first's whole queue. Pure: no I/O, no timers.
 */
export interface FairKey {
  tenantId: string;
  jobId: string;
}

/** Waiters of one tenant: its jobs in turn order, each job's waiters in arrival order. */
interface TenantQueue {
  jobs: Map<string, Array<() => void>>;
}

export class FairSemaphore {
  private active = 0;
  /** Tenants with waiters, in turn order (Map keeps insertion order; a served tenant moves to the back). */
  private readonly tenants = new Map<string, TenantQueue>();

  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new Error('FairSemaphore limit must be at least 1');
  }

  /** Holders now. */
  get inUse(): number {
    return this.active;
  }

  /** Waiters now, over every tenant and job. */
  get waiting(): number {
    let n = 0;
    for (const t of this.tenants.values()) for (const q of t.jobs.values()) n += q.length;
    return n;
  }

  async use<T>(key: FairKey, fn: () => Promise<T>): Promise<T> {
    await this.acquire(key);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(key: FairKey): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let tenant = this.tenants.get(key.tenantId);
      if (!tenant) this.tenants.set(key.tenantId, (tenant = { jobs: new Map() }));
      let queue = tenant.jobs.get(key.jobId);
      if (!queue) tenant.jobs.set(key.jobId, (queue = []));
      queue.push(resolve);
    });
  }

  private release(): void {
    const next = this.nextWaiter();
    if (next) next(); // the slot passes straight to the next waiter
    else this.active--;
  }

  /** The first waiter of the first job of the first tenant; both move to the back of their rings. */
  private nextWaiter(): (() => void) | undefined {
    const first = this.tenants.entries().next();
    if (first.done) return undefined;
    const [tenantId, tenant] = first.value;
    const [jobId, queue] = tenant.jobs.entries().next().value!;
    const waiter = queue.shift()!;
    tenant.jobs.delete(jobId);
    if (queue.length) tenant.jobs.set(jobId, queue);
    this.tenants.delete(tenantId);
    if (tenant.jobs.size) this.tenants.set(tenantId, tenant);
    return waiter;
  }
}
