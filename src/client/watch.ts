import { ApiClient, ApiRequestError } from './api-client';
import type { ProgressReporter, ProgressSnapshot } from './progress';

/** A job as GET /annotation/jobs/{id} answers (the fields the CLI reads). */
export interface JobView {
  job_id: string;
  type: string;
  project_id: string;
  status: string;
  workflow_id: string;
  progress: {
    status: string;
    total: number;
    processed: number;
    succeeded: number;
    failed: number;
    auto_accepted: number;
    needs_review: number;
    percent: number;
    started_at: string | null;
    eta_seconds: number | null;
    spent_usd: string;
    max_cost_usd: string | null;
    pause_reason?: string;
    error?: string;
  };
  result: Record<string, unknown> | null;
  error: string | null;
  created_at: string | null;
  links: { temporal_ui: string; [k: string]: string | undefined };
}

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled'];

/** The rate over the last samples (a window of ~10 s), so a paused stretch does not drag it for ever. */
export class RateWindow {
  private samples: { at: number; done: number }[] = [];
  constructor(private readonly windowMs = 10_000) {}

  add(at: number, done: number): number | null {
    this.samples.push({ at, done });
    while (this.samples.length > 2 && at - this.samples[0].at > this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const seconds = (at - first.at) / 1000;
    return seconds > 0 ? (done - first.done) / seconds : null;
  }
}

export function jobSnapshot(job: JobView, rate: number | null): ProgressSnapshot {
  const p = job.progress;
  // A stalled job (its workflow task keeps failing) says why; `anno jobs cancel` ends it.
  const status = p.status === 'paused' && p.pause_reason ? `paused (${p.pause_reason})` : p.status === 'stalled' && p.error ? `stalled: ${p.error.slice(0, 80)}` : p.status;
  return {
    label: job.type,
    done: p.processed,
    total: p.total,
    rate,
    etaSeconds: TERMINAL_STATUSES.includes(p.status) || p.status === 'paused' ? null : p.eta_seconds,
    costUsd: p.spent_usd,
    budgetUsd: p.max_cost_usd,
    status,
    counts: { succeeded: p.succeeded, failed: p.failed, auto_accepted: p.auto_accepted, needs_review: p.needs_review },
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/**
 * Polls the job until it ends (its final view) or `signal` aborts (null: detached, the job goes
 * on). A rate limit, an unavailable API or a dropped connection is waited out, not fatal.
 */
export async function watchJob(api: ApiClient, jobId: string, progress: ProgressReporter, opts: { intervalMs: number; signal: AbortSignal }): Promise<JobView | null> {
  const rates = new RateWindow();
  let last: JobView | null = null;
  while (!opts.signal.aborted) {
    let wait = opts.intervalMs;
    try {
      const job = await api.json<JobView>('GET', `/annotation/jobs/${encodeURIComponent(jobId)}`);
      last = job;
      const snapshot = jobSnapshot(job, rates.add(Date.now(), job.progress.processed));
      if (TERMINAL_STATUSES.includes(job.progress.status)) {
        progress.finish(snapshot);
        return job;
      }
      progress.update(snapshot);
    } catch (err) {
      const transient = err instanceof ApiRequestError ? err.transient : err instanceof TypeError; // fetch's network failure
      if (!transient) throw err;
      if (err instanceof ApiRequestError && err.retryAfterSeconds) wait = Math.max(wait, err.retryAfterSeconds * 1000);
      if (last) progress.update({ ...jobSnapshot(last, null), status: 'reconnecting' });
    }
    await sleep(wait, opts.signal);
  }
  if (last) progress.interrupt();
  return null;
}

/** An AbortSignal that Ctrl-C (SIGINT) aborts, and a function that removes the handler. */
export function abortOnInterrupt(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, dispose: () => process.removeListener('SIGINT', onSigint) };
}
