import { metrics } from '../../src/metrics';

/** `anno_jobs_completed_total{type, status}` as this process counts it (tests run the workers in-process). */
export async function jobsCompletedCount(type: string, status: string): Promise<number> {
  const { values } = await metrics.jobsCompleted.get();
  return values.find((v) => v.labels.type === type && v.labels.status === status)?.value ?? 0;
}

/** The fields every job start answers (202, JobAccepted), whatever the kind. */
export const JOB_ACCEPTED_FIELDS = ['job_id', 'links', 'status', 'total', 'workflow_id'];
