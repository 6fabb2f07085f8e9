import { canAccessProject, type Principal } from '../../auth/jwt';
import { findJob, type JobRow } from '../../jobs/job-views';
import type { ApiDeps } from '../deps';
import { notFound } from '../errors';
import { jobLinks } from '../../jobs/job-views';

/** The job, if the principal may see it: another tenant's job, or one outside `projects`, is a 404. */
export async function findJobForPrincipal(db: ApiDeps['db'], principal: Principal, jobId: string, type?: string): Promise<JobRow> {
  const job = await findJob(db, principal.tenantId, jobId, type);
  if (!job || !canAccessProject(principal, job.project_id)) throw notFound('job', jobId);
  return job;
}

export function linksFor(deps: ApiDeps, job: Pick<JobRow, 'id' | 'type' | 'workflow_id' | 'run_id'>) {
  return jobLinks(job, deps.config.temporalUiUrl, deps.temporal.namespace);
}
