import Router from '@koa/router';
import { Conflict } from '../../db/models';
import { resolveConflictDecision } from '../../tasks/decisions';
import type { ApiContextExtras, ApiState } from '../deps';
import { listModelPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { findProjectForPrincipal } from '../scope';
import { presentConflict } from './presenter';
import { ConflictResponse, ListConflictsQuery, ProjectParams, ResolveConflictBody } from './schema';
import { iso } from '../../formats';

export const conflictsRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  conflictsRouter,
  {
    method: 'post',
    path: '/annotation/conflicts/resolve',
    tags: ['conflicts'],
    summary: 'Resolve a conflict',
    description:
      'An expert’s resolution, delivered to the conflict’s `conflictResolution` workflow (update `resolve`). Only the assigned expert or a manager (403); an already resolved conflict is a 409. ' +
      'Written to the audit log with who, how and the disagreeing inputs.',
    roles: ['annotator', 'reviewer', 'manager'],
    request: { body: ResolveConflictBody },
    responses: { 200: { description: 'The resolved conflict', schema: ConflictResponse } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    ctx.body = presentConflict(await resolveConflictDecision(ctx.deps, ctx.state.principal!, body));
  },
);

defineRoute(
  conflictsRouter,
  {
    method: 'get',
    path: '/annotation/conflicts/:project_id',
    tags: ['conflicts'],
    summary: 'List a project’s conflicts',
    description:
      'Items whose human annotations disagree, newest first. Automatic resolution picks only among the labels the item’s annotators gave: Dawid–Skene under its evidence rule ' +
      '(a converged fit, `routing.conflict_ds_min_items` (default 50) items with ≥ 2 human annotations, each of the item’s annotators on as many, their estimated accuracies ≥ 0.2 apart), ' +
      'else majority vote; resolved automatically only when the margin is at least `routing.conflict_min_margin` (default 0.3) and above 0 (a tie never is), else an expert task.',
    request: { params: ProjectParams, query: ListConflictsQuery },
    responses: { 200: { description: 'A page of conflicts', schema: pageOf(ConflictResponse) } },
  },
  async (ctx) => {
    const { params, query } = ctx.state.input;
    const project = await findProjectForPrincipal(ctx.deps.db, ctx.state.principal!, params.project_id);
    const base = Conflict.query(ctx.deps.db).where({ project_id: project.id, tenant_id: project.tenant_id });
    if (query.status) base.where('status', query.status);
    const { rows, total } = await listModelPage(base, query, (q) => q.select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }]));
    ctx.body = paged(rows.map(presentConflict), query, total);
  },
);
