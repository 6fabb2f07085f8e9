/**
 * Single flight per cache key in this process: while one attempt for a key runs, later attempts
 * for the same key wait for it instead of calling the provider too. When the leader got an
 * answer, the waiters use it (as cache hits); when it failed, they go on one at a time — the
 * first becomes the next leader, the rest wait for it — so a failing engine still sees one call
 * per key at a time, not a stampede.
 */
interface Flight {
  /** Resolves with the leader's raw answer, or undefined when it got none. Never rejects. */
  done: Promise<string | undefined>;
}

export class SingleFlight {
  private readonly flights = new Map<string, Flight>();

  /**
   * Runs `attempt` for `key`: at once when no attempt for the key is in flight, with the in-flight
   * leader's answer (`joined`) once it has one, or as the next leader after it failed.
   * `answerOf` reads the raw answer out of the attempt's result (undefined: none).
   * Waiting is abortable by `signal`.
   */
  async run<T>(key: string, signal: AbortSignal | undefined, attempt: (joined: string | undefined) => Promise<T>, answerOf: (result: T) => string | undefined): Promise<T> {
    for (let current = this.flights.get(key); current; current = this.flights.get(key)) {
      const answer = await abortable(current.done, signal);
      if (answer !== undefined) return attempt(answer);
    }
    let settle!: (answer: string | undefined) => void;
    const flight: Flight = { done: new Promise((resolve) => (settle = resolve)) };
    this.flights.set(key, flight);
    let answer: string | undefined;
    try {
      const result = await attempt(undefined);
      answer = answerOf(result);
      return result;
    } finally {
      this.flights.delete(key);
      settle(answer);
    }
  }

  /** Keys with an attempt in flight (tests, health). */
  get size(): number {
    return this.flights.size;
  }
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
