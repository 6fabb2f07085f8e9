import Router from '@koa/router';
import { loadAiMetricRows, loadEngineNames } from '../../data/ai-metrics';
import type { ApiContextExtras, ApiState } from '../deps';
import { usageByEngine } from '../engines/store';
import { defineRoute } from '../openapi';
import { findProjectForPrincipal } from '../scope';
import { engineIdsOf, presentAiMetrics } from './presenter';
import { MetricsQuery, MetricsResponse } from './schema';
import { UUID_PATTERN } from '../../formats';

export const aiMetricsRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  aiMetricsRouter,
  {
    method: 'get',
    path: '/annotation/metrics',
    tags: ['metrics'],
    summary: 'AI metrics',
    description:
      'AI annotation metrics for one project or every project the caller may see (not the Prometheus `/metrics`): annotation counts, acceptance (from suggestion feedback and from human annotations of AI-annotated items), mean confidence, and cost — the exact sum of the `llm_usage` ledger for the scope (tenant-wide, it includes calls with no project such as health probes) — overall, per engine, and per engine and suggested label.',
    request: { query: MetricsQuery },
    responses: { 200: { description: 'The metrics', schema: MetricsResponse } },
  },
  async (ctx) => {
    const { query } = ctx.state.input;
    const principal = ctx.state.principal!;
    let projectIds: string[] | undefined;
    if (query.project_id) projectIds = [(await findProjectForPrincipal(ctx.deps.db, principal, query.project_id)).id];
    else if (principal.projects) projectIds = principal.projects.filter((id) => UUID_PATTERN.test(id));
    const { db } = ctx.deps;
    const [rows, usage] = await Promise.all([
      loadAiMetricRows(db, principal.tenantId, projectIds),
      usageByEngine(db, principal.tenantId, projectIds ? { projectIds } : {}),
    ]);
    const names = await loadEngineNames(db, engineIdsOf(rows, usage));
    ctx.body = presentAiMetrics(rows, usage, names, projectIds);
  },
);
