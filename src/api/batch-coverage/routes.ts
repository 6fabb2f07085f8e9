import Router from '@koa/router';
import { BATCH_COVERAGE_JOB_TYPE } from '../../jobs/job-types';
import { startBatchCoverage } from '../../jobs/start-batch-coverage';
import { batchCoverage } from '../../../workflows/batch-coverage';
import type { ApiContextExtras, ApiState } from '../deps';
import { validationFailed, zodIssues } from '../errors';
import { goldLabelSchema } from '../items/schema';
import { findJobForPrincipal, startJobAndAnswer } from '../jobs/access';
import { JobAccepted, JobParams } from '../jobs/schema';
import { listPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import type { LabelSchemaValue } from '../projects/schema';
import { findProjectForPrincipal } from '../scope';
import { BatchCoverageBody, BatchCoverageSuggestion, CoverageResultsQuery } from './schema';

export const batchCoverageRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  batchCoverageRouter,
  {
    method: 'post',
    path: '/annotation/batch-coverage',
    tags: ['batch-coverage'],
    summary: 'Apply a value to the items most like a source item',
    description:
      `Starts a \`${batchCoverage.name}\` workflow that pages through the project’s items, computes the trigram similarity (pg_trgm \`similarity()\`, or the same definition in-process where the extension is unavailable) of each item’s text to the source item’s, and records \`value\` as a suggestion (source \`ai\`, status \`needs_review\`, confidence = similarity, annotator \`batch-coverage\`) for every item at or above \`similarity_threshold\` — never the source item itself, never an item a person has already annotated — up to \`max_items\`. Progress: GET /annotation/jobs/{job_id}.`,
    roles: ['manager', 'annotator'],
    request: { body: BatchCoverageBody },
    responses: { 202: { description: 'The job was started', schema: JobAccepted } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const { db, temporal, config } = ctx.deps;
    const principal = ctx.state.principal!;
    const project = await findProjectForPrincipal(db, principal, body.project_id);

    const value = goldLabelSchema(project.label_schema as LabelSchemaValue).safeParse(body.value);
    if (!value.success) throw validationFailed(zodIssues(value.error, 'value'));
    const source = await db('items')
      .where({ id: body.source_item_id, project_id: project.id, tenant_id: principal.tenantId })
      .first('id', db.raw("jsonb_typeof(data->'text') AS text_type"));
    if (!source) throw validationFailed([{ field: 'source_item_id', message: 'no such item in this project' }]);
    if (source.text_type !== 'string') throw validationFailed([{ field: 'source_item_id', message: 'the item has no text to compare' }]);

    await startJobAndAnswer(ctx, { type: BATCH_COVERAGE_JOB_TYPE, projectId: project.id }, () =>
      startBatchCoverage(db, temporal.client, config, {
        tenantId: principal.tenantId,
        userId: principal.userId,
        projectId: project.id,
        sourceItemId: body.source_item_id,
        value: value.data,
        similarityThreshold: body.similarity_threshold,
        maxItems: body.max_items,
      }),
    );
  },
);

defineRoute(
  batchCoverageRouter,
  {
    method: 'get',
    path: '/annotation/batch-coverage/:job_id/results',
    tags: ['batch-coverage'],
    summary: 'Suggestions of a batch-coverage job',
    description: 'The suggestions the job recorded, most similar first; available while the job runs.',
    request: { params: JobParams, query: CoverageResultsQuery },
    responses: { 200: { description: 'A page of suggestions', schema: pageOf(BatchCoverageSuggestion) } },
  },
  async (ctx) => {
    const { params, query } = ctx.state.input;
    const { db } = ctx.deps;
    const job = await findJobForPrincipal(db, ctx.state.principal!, params.job_id, BATCH_COVERAGE_JOB_TYPE);
    const base = db('annotations as a').where({ 'a.job_id': job.id, 'a.tenant_id': job.tenant_id });
    const { rows, total: count } = await listPage<{ created_at: Date | null } & Record<string, unknown>>(base, query, (q) =>
      q
        .join('items as i', 'i.id', 'a.item_id')
        .orderBy([{ column: 'a.confidence', order: 'desc' }, { column: 'i.seq' }])
        .select('a.item_id', 'i.external_id', 'a.value', 'a.confidence', 'a.status', 'a.created_at'),
    );
    ctx.body = paged(
      rows.map((r) => ({ ...r, created_at: r.created_at ? new Date(r.created_at).toISOString() : null })),
      query,
      Number(count),
    );
  },
);
