import Router from '@koa/router';
import { fn } from 'objection';
import { recordAudit } from '../../data/audit';
import { Project } from '../../db/models';
import { loadVisibleEngines } from '../../llm/engine-store';
import type { ApiContextExtras, ApiState } from '../deps';
import { validationFailed, type FieldIssue } from '../errors';
import { defineRoute } from '../openapi';
import { ROUTING_DEFAULTS, type RoutingValue } from '../projects/schema';
import { findProjectForPrincipal } from '../scope';
import { presentRouting } from './presenter';
import { PutRoutingConfigBody, RoutingConfigQuery, RoutingConfigResponse } from './schema';

export const routingRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  routingRouter,
  {
    method: 'get',
    path: '/annotation/routing/config',
    tags: ['routing'],
    summary: 'Get a project’s routing',
    description: 'Confidence thresholds, engines and review settings of the project (defaults for fields never set).',
    request: { query: RoutingConfigQuery },
    responses: { 200: { description: 'The routing configuration', schema: RoutingConfigResponse } },
  },
  async (ctx) => {
    const project = await findProjectForPrincipal(ctx.deps.db, ctx.state.principal!, ctx.state.input.query.project_id);
    ctx.body = presentRouting(project);
  },
);

defineRoute(
  routingRouter,
  {
    method: 'put',
    path: '/annotation/routing/config',
    tags: ['routing'],
    summary: 'Set a project’s routing',
    description:
      'Sets the fields given and keeps the others. Thresholds are in [0, 1] and, after merging, low < high (422 naming both otherwise). Items at or above high are auto-accepted, below low go to review. Engines must exist and be visible to the tenant (its own or built-in). Writes an audit_log entry with the previous and new values.',
    roles: ['manager'],
    request: { body: PutRoutingConfigBody },
    responses: { 200: { description: 'The routing configuration now in force', schema: RoutingConfigResponse } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const { db } = ctx.deps;
    const principal = ctx.state.principal!;
    const { project_id, ...changes } = body;
    const updated = await db.transaction(async (trx) => {
      const project = await findProjectForPrincipal(trx, principal, project_id);
      await Project.query(trx).where({ id: project.id }).forUpdate().first().select('id');
      const before = { ...ROUTING_DEFAULTS, ...((project.routing ?? {}) as Partial<RoutingValue>) };
      const next: RoutingValue = { ...before, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) };

      const issues: FieldIssue[] = [];
      if (!(next.low_confidence_threshold < next.high_confidence_threshold)) {
        const msg = `low_confidence_threshold (${next.low_confidence_threshold}) must be below high_confidence_threshold (${next.high_confidence_threshold})`;
        issues.push({ field: 'low_confidence_threshold', message: msg }, { field: 'high_confidence_threshold', message: msg });
      }
      const wanted = [
        ...(changes.default_engine_id ? [{ id: changes.default_engine_id, field: 'default_engine_id' }] : []),
        ...(changes.fallback_engine_ids ?? []).map((id, i) => ({ id, field: `fallback_engine_ids.${i}` })),
      ];
      if (wanted.length) {
        const found = await loadVisibleEngines(trx, principal.tenantId, wanted.map((w) => w.id));
        for (const w of wanted) if (!found.has(w.id.toLowerCase())) issues.push({ field: w.field, message: `engine ${w.id} not found` });
      }
      if (issues.length) throw validationFailed(issues);

      const [row] = await Project.query(trx)
        .where({ id: project.id, tenant_id: principal.tenantId })
        .patch({ routing: next, updated_at: fn.now() })
        .returning(['id', 'routing', 'updated_at']);
      await recordAudit(trx, {
        tenant_id: principal.tenantId,
        project_id: project.id,
        actor: principal.userId,
        action: 'routing.updated',
        entity_type: 'project',
        entity_id: project.id,
        details: { before, after: next, fields: Object.keys(changes).sort() },
      });
      return row;
    });
    ctx.body = presentRouting(updated);
  },
);
