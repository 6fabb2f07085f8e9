import { FairSemaphore, type FairKey } from './fair-semaphore';
import { Semaphore } from './semaphore';

/** Holds a provider slot around one call. */
export type CallSlot = <T>(call: () => Promise<T>) => Promise<T>;

/** Items ready ahead of the slots: a quarter of them, at least one. */
export function lookahead(limit: number): number {
  return Math.max(1, Math.ceil(limit / 4));
}

/** One job's stages in this worker (ProviderSlots.forJob). */
export interface JobSlots {
  /** Passes an item through the gate and hands it the slot to hold around its provider calls. */
  run<T>(item: (callSlot: CallSlot) => Promise<T>): Promise<T>;
  /** The batch is over (a job's stages go with its last batch). */
  done(): void;
}

interface JobStages {
  gate: Semaphore;
  calls: Semaphore;
  users: number;
}

/**
 * A worker's provider slots for pre-annotation, in two stages. A provider call holds a slot
 * (`limit` for the worker, a job's `concurrency` for the job) for the call only; before it, the
 * item passes a wider gate (the limit plus `lookahead`) where it does what must precede the call —
 * the write-ahead ledger row above all — so a freed slot goes straight to a call that is ready,
 * instead of idling while the next item's row is written. At most about `lookahead` items hold an
 * opened row while waiting for a slot. Both stages are shared round robin between tenants and
 * their jobs (FairSemaphore). Pure: no I/O, no timers.
 */
export class ProviderSlots {
  private readonly gate: FairSemaphore;
  private readonly calls: FairSemaphore;
  /** Per job in this process, so a job's `concurrency` holds across its batches. */
  private readonly jobs = new Map<string, JobStages>();

  constructor(limit: number) {
    this.gate = new FairSemaphore(limit + lookahead(limit));
    this.calls = new FairSemaphore(limit);
  }

  /** Provider calls in flight now. */
  get callsInFlight(): number {
    return this.calls.inUse;
  }

  /** The stages of one batch of a job (call `done` when the batch ends). */
  forJob(key: FairKey, concurrency: number): JobSlots {
    let job = this.jobs.get(key.jobId);
    if (!job) {
      job = { gate: new Semaphore(concurrency + lookahead(concurrency)), calls: new Semaphore(concurrency), users: 0 };
      this.jobs.set(key.jobId, job);
    }
    job.users++;
    const stages = job;
    const callSlot: CallSlot = (call) => stages.calls.use(() => this.calls.use(key, call));
    return {
      run: (item) => stages.gate.use(() => this.gate.use(key, () => item(callSlot))),
      done: () => {
        if (--stages.users === 0) this.jobs.delete(key.jobId);
      },
    };
  }
}
