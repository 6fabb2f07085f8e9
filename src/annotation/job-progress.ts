/**
 * Pre-annotation counters and the progress view built from them. Pure: the workflow keeps
 * the counters, the API turns them into percent and ETA.
 */
export interface JobCounters {
  processed: number;
  succeeded: number;
  failed: number;
  auto_accepted: number;
  needs_review: number;
}

export const ZERO_COUNTERS: JobCounters = { processed: 0, succeeded: 0, failed: 0, auto_accepted: 0, needs_review: 0 };

export function addCounters(a: JobCounters, b: JobCounters): JobCounters {
  return {
    processed: a.processed + b.processed,
    succeeded: a.succeeded + b.succeeded,
    failed: a.failed + b.failed,
    auto_accepted: a.auto_accepted + b.auto_accepted,
    needs_review: a.needs_review + b.needs_review,
  };
}

/** Counters of one batch from the statuses of its annotation rows. */
export function countersFromStatuses(statusCounts: Partial<Record<string, number>>): JobCounters {
  const auto = statusCounts.auto_accepted ?? 0;
  const review = statusCounts.needs_review ?? 0;
  const failed = statusCounts.failed ?? 0;
  return { processed: auto + review + failed, succeeded: auto + review, failed, auto_accepted: auto, needs_review: review };
}

export type JobStatus = 'pending' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

export interface JobProgressView extends JobCounters {
  status: JobStatus;
  total: number;
  percent: number;
  started_at: string | null;
  updated_at: string | null;
  eta_seconds: number | null;
}

export function progressView(input: {
  status: JobStatus;
  total: number;
  counters: JobCounters;
  startedAt: string | null;
  updatedAt: string | null;
  now?: number;
}): JobProgressView {
  const { total, counters } = input;
  const percent = total === 0 ? (input.status === 'completed' ? 100 : 0) : Math.round((counters.processed / total) * 10000) / 100;
  let eta: number | null = null;
  if (input.status === 'running' && input.startedAt && counters.processed > 0 && total > counters.processed) {
    const elapsed = ((input.now ?? Date.now()) - Date.parse(input.startedAt)) / 1000;
    eta = Math.max(0, Math.round((elapsed / counters.processed) * (total - counters.processed)));
  } else if (input.status === 'completed') {
    eta = 0;
  }
  return {
    status: input.status,
    total,
    ...counters,
    percent,
    started_at: input.startedAt,
    updated_at: input.updatedAt,
    eta_seconds: eta,
  };
}
