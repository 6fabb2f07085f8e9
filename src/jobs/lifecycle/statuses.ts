import type { JobStatus } from '../../annotation/job-progress';

/** A job in these states may still change: its workflow runs (or is about to). */
export const OPEN_STATUSES: JobStatus[] = ['pending', 'running', 'paused'];
/** A job in these states is over: its row is final and its `job.completed` event written. */
export const ENDED_STATUSES: JobStatus[] = ['completed', 'failed', 'cancelled'];
