import Router from '@koa/router';
import type { JobRow } from '../../db/models';
import { currentProgress, progressFromRow } from '../../jobs/job-views';
import type { ApiContextExtras, ApiState } from '../deps';
import { listPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { scopeToPrincipal } from '../scope';
import { findJobForPrincipal, linksFor } from './access';
import { presentJob } from './presenter';
import { providerBatchesOf, providerBatchSummary } from '../../data/provider-batches';
import { JobParams, JobResponse, ListJobsQuery } from './schema';

export const jobsRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  jobsRouter,
  {
    method: 'get',
    path: '/annotation/jobs',
    tags: ['jobs'],
    summary: 'List jobs of every kind',
    description: 'Newest first, filtered by project, type and status. Progress here is the stored view; a job’s own page has live progress.',
    request: { query: ListJobsQuery },
    responses: { 200: { description: 'A page of jobs', schema: pageOf(JobResponse) } },
  },
  async (ctx) => {
    const { query } = ctx.state.input;
    const base = scopeToPrincipal(ctx.deps.db('jobs'), ctx.state.principal!);
    if (query.project_id) base.where('project_id', query.project_id);
    if (query.type) base.where('type', query.type);
    if (query.status) base.where('status', query.status);
    const { rows, total } = await listPage<JobRow>(base, query, (q) =>
      q.select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }]),
    );
    ctx.body = paged(
      rows.map((job) => presentJob(job, progressFromRow(job), linksFor(ctx.deps, job))),
      query,
      total,
    );
  },
);

defineRoute(
  jobsRouter,
  {
    method: 'get',
    path: '/annotation/jobs/:job_id',
    tags: ['jobs'],
    summary: 'Get a job',
    description: 'A job of any kind with its workflow and run ids, live progress while it runs, its result and links (incl. the Temporal UI).',
    request: { params: JobParams },
    responses: { 200: { description: 'The job', schema: JobResponse } },
  },
  async (ctx) => {
    const job = await findJobForPrincipal(ctx.deps.db, ctx.state.principal!, ctx.state.input.params.job_id);
    const progress = await currentProgress(ctx.deps.temporal.client, job);
    // A batch-mode pre-annotation job also lists its provider batches (their rows, updated by every poll).
    const withBatches =
      job.params?.mode === 'batch' ? { ...progress, provider_batches: (await providerBatchesOf(ctx.deps.db, job.tenant_id, job.id)).map(providerBatchSummary) } : progress;
    ctx.body = presentJob(job, withBatches, linksFor(ctx.deps, job));
  },
);
