import type { Knex } from 'knex';
import { groupCommit } from '../db/group-commit';
import { bucketWaitMs, positiveLimit, type RateLimiter, type RateLimits } from './rate-limiter';

/**
 * An engine's rate limit held by every process together. `rate_limit` (rpm, tpm) is a limit of
 * the engine's API key, so three workers and two API replicas must share one pair of token
 * buckets: they live in `llm_rate_buckets`, one row per engine, and each acquire is one atomic
 * statement (refill from the elapsed time on the database's clock, take if it fits, else say how
 * long to wait). Weighted: a request takes its estimated tokens, and `settle` refunds or charges
 * the difference once the real usage is known. A 429's Retry-After pauses the engine for every
 * process (`paused_until`).
 *
 * In a process, callers of one engine queue FIFO (abortable) and only the head polls the
 * database, sleeping the wait the statement computed, so waiting costs one statement per grant,
 * not one per waiter per tick. An engine with no limit costs no round trip (its pause is known to
 * the process that saw the 429).
 */

interface Waiter {
  rpm: number;
  tpm: number;
  tokens: number;
  resolve: () => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Longest single sleep of the queue head: a refund or a new limit is noticed within it. */
const MAX_SLEEP_MS = 1000;

export class SharedRateLimiter implements RateLimiter {
  private readonly queues = new Map<string, Waiter[]>();
  private readonly pumping = new Set<string>();
  private readonly ensured = new Set<string>();
  /** What this process knows of each engine's pause (epoch ms): its own 429s and what the buckets said. */
  private readonly pausedUntil = new Map<string, number>();
  /** Engines this process saw with a tokens-per-minute limit: only their settles move a bucket. */
  private readonly tokenLimited = new Set<string>();
  /** Token corrections (estimate − actual): those arriving while one is written go together, summed per engine. */
  private readonly corrections = groupCommit<{ engineId: string; delta: number }>((batch) => this.writeCorrections(batch));

  constructor(
    private readonly db: Knex,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  async acquire(engineId: string, limits: RateLimits | null | undefined, tokens: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortReason(signal);
    const rpm = positiveLimit(limits?.rpm);
    const tpm = positiveLimit(limits?.tpm);
    if (tpm) this.tokenLimited.add(engineId);
    else this.tokenLimited.delete(engineId);
    if (!rpm && !tpm) {
      const paused = this.pausedForMs(engineId);
      if (paused > 0) await sleep(paused, signal);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { rpm, tpm, tokens, resolve, reject, signal };
      const queue = this.queues.get(engineId) ?? [];
      this.queues.set(engineId, queue);
      if (signal) {
        waiter.onAbort = () => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      queue.push(waiter);
      void this.pump(engineId);
    });
  }

  settle(engineId: string, estimatedTokens: number, actualTokens: number): void {
    const delta = estimatedTokens - actualTokens;
    if (delta === 0 || !this.tokenLimited.has(engineId)) return;
    void this.corrections.add({ engineId, delta }).catch(this.onError);
  }

  private async writeCorrections(batch: { engineId: string; delta: number }[]): Promise<void> {
    const sums = new Map<string, number>();
    for (const c of batch) sums.set(c.engineId, (sums.get(c.engineId) ?? 0) + c.delta);
    await this.db.raw(
      `UPDATE llm_rate_buckets b SET tokens = LEAST(b.tpm, b.tokens + c.delta)
         FROM unnest(CAST(? AS text[]), CAST(? AS float8[])) AS c(engine_id, delta)
        WHERE b.engine_id = c.engine_id AND b.tpm > 0`,
      [[...sums.keys()], [...sums.values()]],
    );
  }

  pause(engineId: string, seconds: number): void {
    if (!(seconds > 0)) return;
    this.pausedUntil.set(engineId, Math.max(this.pausedUntil.get(engineId) ?? 0, Date.now() + seconds * 1000));
    this.db
      .raw(
        `INSERT INTO llm_rate_buckets (engine_id, paused_until) VALUES (?, clock_timestamp() + make_interval(secs => ?))
         ON CONFLICT (engine_id) DO UPDATE SET paused_until = GREATEST(llm_rate_buckets.paused_until, EXCLUDED.paused_until)`,
        [engineId, seconds],
      )
      .catch(this.onError);
  }

  pausedForMs(engineId: string): number {
    return Math.max(0, (this.pausedUntil.get(engineId) ?? 0) - Date.now());
  }

  waiting(engineId: string): number {
    return this.queues.get(engineId)?.length ?? 0;
  }

  /** The queue's head takes from the shared bucket, or sleeps as long as the bucket says. */
  private async pump(engineId: string): Promise<void> {
    if (this.pumping.has(engineId)) return;
    this.pumping.add(engineId);
    try {
      const queue = this.queues.get(engineId)!;
      while (queue.length) {
        const head = queue[0];
        let wait: number;
        try {
          wait = await this.tryTake(engineId, head);
        } catch (err) {
          // The database is unreachable: the caller's call fails as it would on any other write.
          queue.shift();
          head.reject(err);
          continue;
        }
        if (queue[0] !== head) continue; // aborted while the statement ran
        if (wait === 0) {
          queue.shift();
          if (head.onAbort) head.signal?.removeEventListener('abort', head.onAbort);
          head.resolve();
          continue;
        }
        await sleep(Math.min(wait, MAX_SLEEP_MS));
      }
    } finally {
      this.pumping.delete(engineId);
    }
  }

  /** One statement: refill, take if it fits; returns 0 when taken, else the milliseconds to wait. */
  private async tryTake(engineId: string, w: Waiter): Promise<number> {
    if (!this.ensured.has(engineId)) {
      // A new bucket starts full, as the in-process one does.
      await this.db.raw(
        `INSERT INTO llm_rate_buckets (engine_id, rpm, tpm, requests, tokens) VALUES (?, ?, ?, ?, ?) ON CONFLICT (engine_id) DO NOTHING`,
        [engineId, w.rpm, w.tpm, w.rpm, w.tpm],
      );
      this.ensured.add(engineId);
    }
    const need = w.tpm ? Math.min(w.tokens, w.tpm) : 0;
    const { rows } = await this.db.raw(
      `WITH s AS (
         SELECT b.engine_id, clock_timestamp() AS now, b.paused_until, b.updated_at,
                -- a changed limit starts with a full bucket
                CASE WHEN b.rpm = :rpm THEN b.requests ELSE :rpm END AS req0,
                CASE WHEN b.tpm = :tpm THEN b.tokens ELSE :tpm END AS tok0
           FROM llm_rate_buckets b WHERE b.engine_id = :id FOR UPDATE
       ), r AS (
         SELECT s.*,
                LEAST(CAST(:rpm AS float8), s.req0 + GREATEST(0, extract(epoch FROM s.now - s.updated_at)) * :rpm / 60.0) AS req,
                LEAST(CAST(:tpm AS float8), s.tok0 + GREATEST(0, extract(epoch FROM s.now - s.updated_at)) * :tpm / 60.0) AS tok
           FROM s
       ), u AS (
         UPDATE llm_rate_buckets b
            SET requests = r.req - CASE WHEN :rpm > 0 THEN 1 ELSE 0 END, tokens = r.tok - :need, rpm = :rpm, tpm = :tpm, updated_at = r.now
           FROM r
          WHERE b.engine_id = r.engine_id AND r.paused_until <= r.now
            AND (:rpm = 0 OR r.req >= 1) AND (:tpm = 0 OR r.tok >= :need)
         RETURNING 1
       )
       SELECT CAST((SELECT count(*) FROM u) AS int) AS taken, r.req, r.tok, extract(epoch FROM GREATEST(r.paused_until, r.now) - r.now) * 1000 AS paused_ms FROM r`,
      { id: engineId, rpm: w.rpm, tpm: w.tpm, need },
    );
    const row = rows[0] as { taken: number; req: number; tok: number; paused_ms: number } | undefined;
    if (!row) {
      this.ensured.delete(engineId); // the row went away (engine deleted and re-created): make it again
      return 1;
    }
    if (row.taken) return 0;
    const pausedMs = Number(row.paused_ms);
    if (pausedMs > 0) this.pausedUntil.set(engineId, Date.now() + pausedMs);
    return Math.max(1, bucketWaitMs({ rpm: w.rpm, tpm: w.tpm, requests: Number(row.req), tokens: Number(row.tok), pausedMs }, w.tokens));
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
