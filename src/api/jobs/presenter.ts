import type { JobRow } from '../../db/models';
import { BATCH_COVERAGE_JOB_TYPE, PRE_ANNOTATION_JOB_TYPE, VALIDATION_JOB_TYPE } from '../../jobs/job-types';
import type { StartedJob } from '../../jobs/lifecycle';
import type { CurrentProgress } from '../../jobs/job-views';
import { temporalUiLink } from '../../temporal/workflow-ids';
import { iso } from '../../formats';

export interface JobLinks {
  self: string;
  progress: string;
  results?: string;
  temporal_ui: string;
}

/** A job's links; `temporal_ui` points at the run the row records (the live one of a continue-as-new chain). */
export function jobLinks(job: Pick<JobRow, 'id' | 'type' | 'project_id' | 'workflow_id' | 'run_id'>, uiUrl: string, namespace: string): JobLinks {
  const base = '/api/v1/annotation';
  const links: JobLinks = {
    self: `${base}/jobs/${job.id}`,
    progress: `${base}/jobs/${job.id}`,
    temporal_ui: temporalUiLink(uiUrl, namespace, job.workflow_id, job.run_id),
  };
  if (job.type === PRE_ANNOTATION_JOB_TYPE) {
    links.progress = `${base}/pre-annotate/${job.id}/progress`;
    links.results = `${base}/pre-annotate/${job.id}/results`;
  }
  if (job.type === BATCH_COVERAGE_JOB_TYPE) links.results = `${base}/batch-coverage/${job.id}/results`;
  // A validation's result is the project's quality report (the latest one once it completes).
  if (job.type === VALIDATION_JOB_TYPE) links.results = `${base}/quality-report/${job.project_id}`;
  return links;
}

/** The job as the API shows it. */
export function presentJob(job: JobRow, progress: CurrentProgress, links: JobLinks) {
  return {
    job_id: job.id,
    type: job.type,
    project_id: job.project_id,
    status: progress.status,
    workflow_id: job.workflow_id,
    run_id: job.run_id,
    params: job.params,
    progress,
    result: job.result,
    error: job.error ?? ('error' in progress ? progress.error : null),
    created_by: job.created_by,
    created_at: iso(job.created_at),
    started_at: iso(job.started_at),
    updated_at: iso(job.updated_at),
    completed_at: iso(job.completed_at),
    links,
  };
}

/** The 202 answer to starting a job of any kind (JobAccepted): the same fields, the row's status. */
export function presentAccepted(started: StartedJob, links: JobLinks) {
  return { job_id: started.jobId, workflow_id: started.workflowId, status: started.status, total: started.total, links };
}
