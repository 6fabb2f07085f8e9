/**
 * A job's life, the same for every kind (pre-annotation, batch coverage, validation): start
 * (row, item snapshot and total in one statement, then the workflow), progress (row and
 * `job.progress` events in step with the live run), finish (row and `job.completed` in one
 * statement, the completed-jobs metric). The API's 202 answer is `presentAccepted`
 * (src/api/jobs/presenter.ts).
 */
export { JobRequestRejected, StartJobRejected, JobActionRefused } from './errors';
export { createJobRow, startJob, startJobWorkflow, type NewJob, type JobItems, type JobWorkflowStart, type StartedJob } from './start';
export { recordJobProgress, type ReportingJob } from './progress';
export { finishJob, type JobOutcome, type JobEndedBy } from './finish';
export { OPEN_STATUSES, ENDED_STATUSES } from './statuses';
