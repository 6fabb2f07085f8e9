import { canAccessProject, type Principal } from '../../auth/jwt';
import type { JobRow } from '../../db/models';
import { findJob } from '../../jobs/job-views';
import type { JobType } from '../../jobs/job-types';
import { StartJobRejected, type StartedJob } from '../../jobs/lifecycle';
import type { ApiDeps } from '../deps';
import { notFound, serviceUnavailable, validationFailed } from '../errors';
import type { defineRoute } from '../openapi';
import { jobLinks, presentAccepted } from './presenter';

/** The job, if the principal may see it: another tenant's job, or one outside `projects`, is a 404. */
export async function findJobForPrincipal(db: ApiDeps['db'], principal: Principal, jobId: string, type?: string): Promise<JobRow> {
  const job = await findJob(db, principal.tenantId, jobId, type);
  if (!job || !canAccessProject(principal, job.project_id)) throw notFound('job', jobId);
  return job;
}

export function linksFor(deps: ApiDeps, job: Pick<JobRow, 'id' | 'type' | 'project_id' | 'workflow_id' | 'run_id'>) {
  return jobLinks(job, deps.config.temporalUiUrl, deps.temporal.namespace);
}

type RouteContext = Parameters<Parameters<typeof defineRoute>[2]>[0];

/**
 * Starts a job of any kind and answers 202 (JobAccepted, `Location`: the job). A request the
 * caller can fix is a 422 on its field; a start Temporal refuses is a 503 (the job is failed).
 */
export async function startJobAndAnswer(ctx: RouteContext, job: { type: JobType; projectId: string }, start: () => Promise<StartedJob>): Promise<void> {
  let started: StartedJob;
  try {
    started = await start();
  } catch (err) {
    if (err instanceof StartJobRejected) throw validationFailed([{ field: err.field, message: err.message }]);
    ctx.state.log.error({ err, job_type: job.type }, 'could not start the job workflow');
    throw serviceUnavailable('The workflow engine could not start the job; try again');
  }
  const links = linksFor(ctx.deps, { id: started.jobId, type: job.type, project_id: job.projectId, workflow_id: started.workflowId, run_id: started.runId });
  ctx.status = 202;
  ctx.set('Location', links.self);
  ctx.body = presentAccepted(started, links);
}
