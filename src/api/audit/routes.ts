import Router from '@koa/router';
import { AuditEntry } from '../../db/models';
import type { ApiContextExtras, ApiState } from '../deps';
import { listModelPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { findProjectForPrincipal, scopeToPrincipal } from '../scope';
import { presentAuditEntry } from './presenter';
import { AuditEntryResponse, ListAuditQuery } from './schema';

export const auditRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  auditRouter,
  {
    method: 'get',
    path: '/annotation/audit',
    tags: ['audit'],
    summary: 'Read the audit trail',
    description:
      'Who did what, when and why, newest first: the API’s writes (projects, items, engines, routing, submissions, resolutions) and the ' +
      'workflows’ decisions (conflict.detected / auto_resolved / reopened, task.assigned / reassigned / escalated / completed / expired, ' +
      'job.paused / resumed with the reason, e.g. `budget`, job.completed …) with actor `system`. A token restricted to some `projects` sees ' +
      'only their entries (not the tenant-wide ones, such as engines).',
    roles: ['manager'],
    request: { query: ListAuditQuery },
    responses: { 200: { description: 'A page of audit entries', schema: pageOf(AuditEntryResponse) } },
  },
  async (ctx) => {
    const { query } = ctx.state.input;
    const principal = ctx.state.principal!;
    const base = scopeToPrincipal(AuditEntry.query(ctx.deps.db), principal);
    if (query.project_id) base.where('project_id', (await findProjectForPrincipal(ctx.deps.db, principal, query.project_id)).id);
    if (query.entity) base.where('entity_type', query.entity);
    if (query.entity_id) base.where('entity_id', query.entity_id);
    if (query.item_id) {
      const itemId = query.item_id;
      base.where((w) =>
        w
          .where({ entity_type: 'item', entity_id: itemId })
          .orWhereRaw("details->>'item_id' = ?", [itemId])
          // task decisions name their items in a list
          .orWhereRaw("details->'item_ids' @> jsonb_build_array(?::text)", [itemId]),
      );
    }
    if (query.actor) base.where('actor', query.actor);
    if (query.action) base.where('action', query.action);
    if (query.since) base.where('created_at', '>=', query.since);
    const { rows, total } = await listModelPage(base, query, (q) => q.select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]));
    ctx.body = paged(rows.map(presentAuditEntry), query, total);
  },
);
