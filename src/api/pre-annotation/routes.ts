import Router from '@koa/router';
import { actOnPreAnnotationJob, PRE_ANNOTATION_ACTIONS, retryFailedItems, setPreAnnotationBudget, type PreAnnotationAction } from '../../jobs/job-actions';
import { preAnnotationResults } from '../../jobs/job-results';
import { PRE_ANNOTATION_JOB_TYPE } from '../../jobs/job-types';
import { currentProgress } from '../../jobs/job-views';
import { JobActionRefused, JobRequestRejected } from '../../jobs/lifecycle';
import { startPreAnnotation } from '../../jobs/start-pre-annotation';
import { cancelSignal, preAnnotation, progressQuery, setBudgetSignal } from '../../../workflows/pre-annotation';
import type { ApiContextExtras, ApiState } from '../deps';
import { conflict, serviceUnavailable, validationFailed } from '../errors';
import { findJobForPrincipal, linksFor, startJobAndAnswer } from '../jobs/access';
import { JobAccepted, JobParams } from '../jobs/schema';
import { pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { findProjectForPrincipal } from '../scope';
import { presentPreAnnotationResult, presentProviderBatch } from './presenter';
import { providerBatchesOf } from '../../data/provider-batches';
import { BudgetBody, BudgetResponse, JobActionResponse, PreAnnotateBody, PreAnnotationProgressResponse, PreAnnotationResult, ResultsQuery } from './schema';

/** The API's answer to a refused job action: 409 for the job's state, 422 for the request. */
function asApiError(err: unknown): unknown {
  if (err instanceof JobActionRefused) return conflict(err.message);
  if (err instanceof JobRequestRejected) return validationFailed([{ field: err.field, message: err.message }]);
  return err;
}

export const preAnnotationRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  preAnnotationRouter,
  {
    method: 'post',
    path: '/annotation/pre-annotate',
    tags: ['pre-annotation'],
    summary: 'Start a pre-annotation job',
    description:
      `Snapshots the items (the given ids, or every item with no AI annotation yet) and starts a \`${preAnnotation.name}\` workflow that annotates them in batches with the chosen engine.`,
    roles: ['manager'],
    request: { body: PreAnnotateBody },
    responses: { 202: { description: 'The job was started', schema: JobAccepted } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const { db, temporal, config } = ctx.deps;
    const principal = ctx.state.principal!;
    const project = await findProjectForPrincipal(db, principal, body.project_id);
    await startJobAndAnswer(ctx, { type: PRE_ANNOTATION_JOB_TYPE, projectId: project.id }, () =>
      startPreAnnotation(db, temporal.client, config, {
        tenantId: principal.tenantId,
        userId: principal.userId,
        project: { id: project.id, routing: project.routing },
        itemIds: body.item_ids,
        engineId: body.engine_id,
        batchSize: body.batch_size,
        concurrency: body.concurrency,
        instructions: body.instructions,
        maxCostUsd: body.max_cost_usd,
        mode: body.mode,
      }),
    );
  },
);

defineRoute(
  preAnnotationRouter,
  {
    method: 'get',
    path: '/annotation/pre-annotate/:job_id/progress',
    tags: ['pre-annotation'],
    summary: 'Progress of a pre-annotation job',
    description: `Live from the workflow’s \`${progressQuery.name}\` query while it runs; from the job row once the run is closed. A batch-mode job also lists its provider batches (\`provider_batches\`: provider id, provider status, request counts, created and expiry times), from their rows, which every poll updates.`,
    request: { params: JobParams },
    responses: { 200: { description: 'Progress', schema: PreAnnotationProgressResponse } },
  },
  async (ctx) => {
    const job = await findJobForPrincipal(ctx.deps.db, ctx.state.principal!, ctx.state.input.params.job_id, PRE_ANNOTATION_JOB_TYPE);
    const progress = await currentProgress(ctx.deps.temporal.client, job);
    const mode = job.params?.mode === 'batch' ? 'batch' : 'sync';
    ctx.body = {
      job_id: job.id,
      ...progress,
      mode,
      ...(mode === 'batch' ? { provider_batches: (await providerBatchesOf(ctx.deps.db, job.tenant_id, job.id)).map(presentProviderBatch) } : {}),
    };
  },
);

defineRoute(
  preAnnotationRouter,
  {
    method: 'get',
    path: '/annotation/pre-annotate/:job_id/results',
    tags: ['pre-annotation'],
    summary: 'Results of a pre-annotation job',
    description: 'One row per annotated item, in the job’s item order; available while the job runs.',
    request: { params: JobParams, query: ResultsQuery },
    responses: { 200: { description: 'A page of results', schema: pageOf(PreAnnotationResult) } },
  },
  async (ctx) => {
    const { params, query } = ctx.state.input;
    const job = await findJobForPrincipal(ctx.deps.db, ctx.state.principal!, params.job_id, PRE_ANNOTATION_JOB_TYPE);
    const { rows, total } = await preAnnotationResults(ctx.deps.db, job, query.page, query.page_size, query.status);
    ctx.body = paged(rows.map(presentPreAnnotationResult), query, total);
  },
);

for (const action of Object.keys(PRE_ANNOTATION_ACTIONS) as PreAnnotationAction[]) {
  const signal = PRE_ANNOTATION_ACTIONS[action];
  defineRoute(
    preAnnotationRouter,
    {
      method: 'post',
      path: `/annotation/pre-annotate/:job_id/${action}`,
      tags: ['pre-annotation'],
      summary: `${action[0].toUpperCase()}${action.slice(1)} a pre-annotation job`,
      description:
        `Sends the workflow the \`${signal.name}\` signal. A job that has already ended answers 409.` +
        (signal === cancelSignal
          ? ' A stalled job (its workflow task keeps failing, so it cannot take a signal) is ended by terminating its run, and recorded cancelled.'
          : ' A stalled job answers 409 (cancel ends it).'),
      roles: ['manager'],
      request: { params: JobParams },
      responses: { 202: { description: 'The signal was delivered', schema: JobActionResponse } },
    },
    async (ctx) => {
      const { db, temporal } = ctx.deps;
      const job = await findJobForPrincipal(db, ctx.state.principal!, ctx.state.input.params.job_id, PRE_ANNOTATION_JOB_TYPE);
      await actOnPreAnnotationJob(db, temporal.client, job, action, ctx.state.principal!.userId).catch((err) => {
        throw asApiError(err);
      });
      const fresh = await findJobForPrincipal(db, ctx.state.principal!, job.id, PRE_ANNOTATION_JOB_TYPE);
      const progress = await currentProgress(temporal.client, fresh);
      ctx.status = 202;
      ctx.body = { job_id: job.id, workflow_id: job.workflow_id, action, status: progress.status, links: linksFor(ctx.deps, fresh) };
    },
  );
}

defineRoute(
  preAnnotationRouter,
  {
    method: 'post',
    path: '/annotation/pre-annotate/:job_id/retry-failed',
    tags: ['pre-annotation'],
    summary: 'Re-run a finished job’s failed items',
    description:
      'Starts a new run of the same job (same workflow id, a new run id) that annotates again every item whose annotation failed; ' +
      'the job’s results and counters then show the final state. 409 while the job is still open, or when no item failed.',
    roles: ['manager'],
    request: { params: JobParams },
    responses: { 202: { description: 'The retry run was started', schema: JobActionResponse } },
  },
  async (ctx) => {
    const { db, temporal, config } = ctx.deps;
    const job = await findJobForPrincipal(db, ctx.state.principal!, ctx.state.input.params.job_id, PRE_ANNOTATION_JOB_TYPE);
    try {
      await retryFailedItems(db, temporal.client, config, job);
    } catch (err) {
      if (err instanceof JobActionRefused) throw conflict(err.message);
      ctx.state.log.error({ err }, 'could not start the retry run');
      throw serviceUnavailable('The workflow engine could not start the retry; try again');
    }
    const fresh = await findJobForPrincipal(db, ctx.state.principal!, job.id, PRE_ANNOTATION_JOB_TYPE);
    const progress = await currentProgress(temporal.client, fresh);
    ctx.status = 202;
    ctx.body = { job_id: job.id, workflow_id: job.workflow_id, action: 'retry-failed', status: progress.status, links: linksFor(ctx.deps, fresh) };
  },
);

defineRoute(
  preAnnotationRouter,
  {
    method: 'post',
    path: '/annotation/pre-annotate/:job_id/budget',
    tags: ['pre-annotation'],
    summary: 'Set or raise a pre-annotation job’s budget',
    description:
      `Sends the workflow the \`${setBudgetSignal.name}\` signal and stores the budget in the job’s params. The budget must be greater than what the job has spent (422 otherwise); a job paused for its budget resumes. A job that has already ended answers 409.`,
    roles: ['manager'],
    request: { params: JobParams, body: BudgetBody },
    responses: { 202: { description: 'The budget was delivered', schema: BudgetResponse } },
  },
  async (ctx) => {
    const { db, temporal } = ctx.deps;
    const maxCostUsd = ctx.state.input.body.max_cost_usd;
    const job = await findJobForPrincipal(db, ctx.state.principal!, ctx.state.input.params.job_id, PRE_ANNOTATION_JOB_TYPE);
    await setPreAnnotationBudget(db, temporal.client, job, maxCostUsd).catch((err) => {
      throw asApiError(err);
    });
    const fresh = await findJobForPrincipal(db, ctx.state.principal!, job.id, PRE_ANNOTATION_JOB_TYPE);
    const progress = await currentProgress(temporal.client, fresh);
    ctx.status = 202;
    ctx.body = {
      job_id: job.id,
      workflow_id: job.workflow_id,
      action: 'budget',
      status: progress.status,
      spent_usd: progress.spent_usd,
      max_cost_usd: maxCostUsd,
      ...(progress.pause_reason ? { pause_reason: progress.pause_reason } : {}),
      links: linksFor(ctx.deps, job),
    };
  },
);
