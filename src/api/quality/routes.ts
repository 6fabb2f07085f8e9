import Router from '@koa/router';
import type { Knex } from 'knex';
import { raw } from 'objection';
import { Inconsistency as InconsistencyModel, QualityReport as QualityReportModel } from '../../db/models';
import { VALIDATION_JOB_TYPE } from '../../jobs/job-types';
import { startValidation } from '../../jobs/start-validation';
import { validation } from '../../../workflows/validation';
import type { ApiContextExtras, ApiState } from '../deps';
import { notFound } from '../errors';
import { startJobAndAnswer } from '../jobs/access';
import { JobAccepted } from '../jobs/schema';
import { listModelPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { findProjectForPrincipal, type ProjectRow } from '../scope';
import { presentInconsistency, presentLatestReport, presentQualityReport, presentReportSummary, type ReportSummary } from './presenter';
import {
  Inconsistency,
  InconsistenciesQuery,
  ProjectParams,
  QualityMetricsQuery,
  QualityMetricsResponse,
  QualityReport,
  RefreshBody,
  ValidateBody,
} from './schema';
import { iso } from '../../formats';

export const qualityRouter = new Router<ApiState, ApiContextExtras>();

async function start(ctx: Parameters<Parameters<typeof defineRoute>[2]>[0], req: { projectId: string; itemIds?: string[]; jobId?: string; trigger: 'validate' | 'refresh' }) {
  const { db, temporal, config } = ctx.deps;
  const principal = ctx.state.principal!;
  const project = await findProjectForPrincipal(db, principal, req.projectId);
  await startJobAndAnswer(ctx, { type: VALIDATION_JOB_TYPE, projectId: project.id }, () =>
    startValidation(db, temporal.client, config, {
      tenantId: principal.tenantId,
      userId: principal.userId,
      projectId: project.id,
      itemIds: req.itemIds,
      jobId: req.jobId,
      trigger: req.trigger,
    }),
  );
}

const VALIDATE_DESCRIPTION =
  `Starts a \`${validation.name}\` workflow over the project (or the given items, or a job’s items): agreement over human annotations ` +
  '(Krippendorff’s alpha nominal, Fleiss’ kappa, pairwise Cohen’s kappa, percent agreement), per-annotator gold accuracy and ' +
  'leave-one-out agreement with consensus, AI acceptance and accuracy against final labels (gold, else the human majority, ties ' +
  'to the first label) per engine, label distribution; then inconsistencies (near-duplicate items with different final labels, ' +
  'annotator drift across time windows, systematic AI-vs-human disagreement per label), a quality report, `quality.alert` events ' +
  '(once per report and metric below its threshold) and, where the project wants ≥ 2 annotators per item, conflicts for disagreeing items. ' +
  'AI annotations never count as annotators in the agreement measures.';

defineRoute(
  qualityRouter,
  {
    method: 'post',
    path: '/annotation/validate',
    tags: ['quality'],
    summary: 'Validate annotation quality',
    description: VALIDATE_DESCRIPTION,
    roles: ['manager'],
    request: { body: ValidateBody },
    responses: { 202: { description: 'The validation job was started', schema: JobAccepted } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    await start(ctx, { projectId: body.project_id, itemIds: body.item_ids, jobId: body.job_id, trigger: 'validate' });
  },
);

defineRoute(
  qualityRouter,
  {
    method: 'post',
    path: '/annotation/quality-metrics/refresh',
    tags: ['quality'],
    summary: 'Recompute the project’s quality metrics',
    description: 'A validation of the whole project (see POST /annotation/validate); the new report becomes the latest.',
    roles: ['manager'],
    request: { body: RefreshBody },
    responses: { 202: { description: 'The validation job was started', schema: JobAccepted } },
  },
  async (ctx) => {
    await start(ctx, { projectId: ctx.state.input.body.project_id, trigger: 'refresh' });
  },
);

/** The project's labels in schema order (the label distribution's order for reports that predate `order`). */
function schemaLabelsOf(project: Pick<ProjectRow, 'label_schema'>): string[] {
  const labels = (project.label_schema as { labels?: unknown } | null)?.labels;
  return Array.isArray(labels) ? labels.map(String) : [];
}

/** A project's reports, newest first. */
function latestReports(db: Knex, project: Pick<ProjectRow, 'id' | 'tenant_id'>) {
  return QualityReportModel.query(db)
    .where({ tenant_id: project.tenant_id, project_id: project.id })
    .orderBy([{ column: 'computed_at', order: 'desc' }, { column: 'id', order: 'desc' }]);
}

defineRoute(
  qualityRouter,
  {
    method: 'get',
    path: '/annotation/quality-report/:project_id',
    tags: ['quality'],
    summary: 'The latest quality report of a project',
    description:
      'The report of the most recent completed validation, whatever it covered (the project, a job’s items or a list of items; ' +
      'GET /annotation/quality-metrics shows each report’s scope). Agreement is over human annotations (null where fewer than two ratings ' +
      'of an item exist or chance agreement is perfect). 404 while the project has no report.',
    request: { params: ProjectParams },
    responses: { 200: { description: 'The latest report', schema: QualityReport } },
  },
  async (ctx) => {
    const project = await findProjectForPrincipal(ctx.deps.db, ctx.state.principal!, ctx.state.input.params.project_id);
    const row = await latestReports(ctx.deps.db, project).first().select('report');
    if (!row) throw notFound('quality report');
    ctx.body = presentQualityReport(row.report as Record<string, unknown>, schemaLabelsOf(project));
  },
);

defineRoute(
  qualityRouter,
  {
    method: 'get',
    path: '/annotation/inconsistencies/:project_id',
    tags: ['quality'],
    summary: 'Inconsistencies found by validation',
    description:
      'Those of the latest report (or `report_id`), filtered by `kind`, most severe first. `near_duplicate`: two items with ' +
      'near-identical text and different final labels; `annotator_drift`: an annotator whose agreement with the others fell in ' +
      'their latest time window; `ai_human_disagreement`: a label an engine systematically over-uses or misses.',
    request: { params: ProjectParams, query: InconsistenciesQuery },
    responses: { 200: { description: 'A page of inconsistencies', schema: pageOf(Inconsistency) } },
  },
  async (ctx) => {
    const { params, query } = ctx.state.input;
    const { db } = ctx.deps;
    const project = await findProjectForPrincipal(db, ctx.state.principal!, params.project_id);
    let reportId = query.report_id;
    if (!reportId) {
      const latest = await latestReports(db, project).first().select('id');
      if (!latest) {
        ctx.body = paged([], query, 0);
        return;
      }
      reportId = latest.id;
    }
    const base = InconsistencyModel.query(db).where({ tenant_id: project.tenant_id, project_id: project.id, report_id: reportId });
    if (query.kind) base.where('kind', query.kind);
    const { rows, total } = await listModelPage(base, query, (q) =>
      q.select('*').orderByRaw("CASE severity WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END").orderBy([{ column: 'kind' }, { column: 'dedupe_key' }]),
    );
    ctx.body = paged(rows.map(presentInconsistency), query, total);
  },
);

/** Reports kept in the dashboard history. */
const HISTORY = 100;

defineRoute(
  qualityRouter,
  {
    method: 'get',
    path: '/annotation/quality-metrics',
    tags: ['quality'],
    summary: 'Quality metrics for dashboards',
    description:
      'The latest report in detail (coverage, per-annotator gold and consensus counts, per-engine acceptance and accuracy, ' +
      'inconsistencies by kind, alerts, each annotator’s agreement with consensus per time window) and the history of agreement over the last 100 reports, oldest first. `scope` says what ' +
      'each report covered (`{"kind": "project"}`, or `{"kind": "job", "jobId"}` for a job’s or a list’s items). `latest` is null ' +
      'and `history` empty before the first validation. `project_id` is required (422 without).',
    request: { query: QualityMetricsQuery },
    responses: { 200: { description: 'Dashboard metrics', schema: QualityMetricsResponse } },
  },
  async (ctx) => {
    const { db } = ctx.deps;
    const project = await findProjectForPrincipal(db, ctx.state.principal!, ctx.state.input.query.project_id);
    const rows = (await latestReports(db, project)
      .limit(HISTORY)
      .select(
        'id',
        'job_id',
        'computed_at',
        'passed',
        'scope',
        // α at the schema's level (what the thresholds judge); reports from before levels have only nominal.
        raw(
          "(CASE WHEN report->'agreement'->'krippendorff_alpha'->'value' IS NOT NULL THEN report->'agreement'->'krippendorff_alpha'->>'value' ELSE report->'agreement'->'krippendorff_alpha'->>'nominal' END)::float8 AS krippendorff_alpha",
        ),
        raw("(report->'agreement'->>'fleiss_kappa')::float8 AS fleiss_kappa"),
        raw("(report->'agreement'->>'percent_agreement')::float8 AS percent_agreement"),
        raw("(report->'ai'->>'accuracy_vs_final')::float8 AS ai_accuracy_vs_final"),
      )) as unknown as ReportSummary[];
    let latest = null;
    if (rows.length) {
      const full = (await QualityReportModel.query(db).findById(rows[0].id).select('report', 'details'))!;
      latest = presentLatestReport(rows[0], full, schemaLabelsOf(project));
    }
    ctx.body = { project_id: project.id, latest, history: rows.reverse().map(presentReportSummary) };
  },
);
