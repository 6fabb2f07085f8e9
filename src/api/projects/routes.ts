import crypto from 'node:crypto';
import Router from '@koa/router';
import type { Knex } from 'knex';
import type { ApiContextExtras, ApiState } from '../deps';
import { FieldIssue, validationFailed } from '../errors';
import { listModelPage, pageOf, paged, paginationQuery } from '../middleware/pagination';
import { API_PREFIX, defineRoute } from '../openapi';
import { recordAudit } from '../../data/audit';
import { Engine, Project } from '../../db/models';
import { ensureTenant, findProjectForPrincipal, scopeToPrincipal } from '../scope';
import { presentProject } from './presenter';
import { CreateProjectBody, ProjectParams, ProjectResponse, ROUTING_DEFAULTS, RoutingValue } from './schema';

export const projectsRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  projectsRouter,
  {
    method: 'post',
    path: '/projects',
    tags: ['projects'],
    summary: 'Create a project',
    description: 'Creates a project of the caller’s tenant. `routing` fields left out take their defaults.',
    roles: ['manager'],
    request: { body: CreateProjectBody },
    responses: { 201: { description: 'The new project', schema: ProjectResponse } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const { db } = ctx.deps;
    const principal = ctx.state.principal!;
    await assertEnginesUsable(db, principal.tenantId, body.routing);
    const id = crypto.randomUUID();
    const project = await db.transaction(async (trx) => {
      await ensureTenant(trx, principal.tenantId);
      const row = await Project.query(trx)
        .insert({
          id,
          tenant_id: principal.tenantId,
          name: body.name,
          label_schema: body.label_schema,
          guidelines: body.guidelines ?? null,
          // Stored whole, so workflows reading the row never need to know the defaults.
          routing: body.routing ?? ROUTING_DEFAULTS,
          created_by: principal.userId,
        })
        .returning('*');
      await recordAudit(trx, {
        tenant_id: principal.tenantId,
        project_id: id,
        actor: principal.userId,
        action: 'project.created',
        entity_type: 'project',
        entity_id: id,
        details: { name: body.name, label_schema: body.label_schema },
      });
      return row;
    });
    ctx.status = 201;
    ctx.set('Location', `${API_PREFIX}/projects/${id}`);
    ctx.body = presentProject(project);
  },
);

defineRoute(
  projectsRouter,
  {
    method: 'get',
    path: '/projects',
    tags: ['projects'],
    summary: 'List projects',
    description: 'The tenant’s projects, newest first; only the token’s `projects` when it lists some.',
    request: { query: paginationQuery },
    responses: { 200: { description: 'A page of projects', schema: pageOf(ProjectResponse) } },
  },
  async (ctx) => {
    const { query } = ctx.state.input;
    const base = scopeToPrincipal(Project.query(ctx.deps.db), ctx.state.principal!, 'id');
    const { rows, total } = await listModelPage(base, query, (q) =>
      q.select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id' }]),
    );
    ctx.body = paged(rows.map(presentProject), query, total);
  },
);

defineRoute(
  projectsRouter,
  {
    method: 'get',
    path: '/projects/:project_id',
    tags: ['projects'],
    summary: 'Get a project',
    request: { params: ProjectParams },
    responses: { 200: { description: 'The project', schema: ProjectResponse } },
  },
  async (ctx) => {
    const project = await findProjectForPrincipal(ctx.deps.db, ctx.state.principal!, ctx.state.input.params.project_id);
    ctx.body = presentProject(project);
  },
);

/** Routing may only name engines the tenant can use: its own or a built-in one. */
async function assertEnginesUsable(db: Knex, tenantId: string, routing: RoutingValue | undefined): Promise<void> {
  if (!routing) return;
  const wanted = [
    ...(routing.default_engine_id ? [{ id: routing.default_engine_id, field: 'routing.default_engine_id' }] : []),
    ...routing.fallback_engine_ids.map((id, i) => ({ id, field: `routing.fallback_engine_ids.${i}` })),
  ];
  if (!wanted.length) return;
  const found = await Engine.query(db)
    .whereIn(
      'id',
      wanted.map((w) => w.id),
    )
    .andWhere((q) => q.where('tenant_id', tenantId).orWhereNull('tenant_id'))
    .select('id');
  const known = new Set(found.map((e) => e.id));
  const issues: FieldIssue[] = wanted.filter((w) => !known.has(w.id)).map((w) => ({ field: w.field, message: `engine ${w.id} not found` }));
  if (issues.length) throw validationFailed(issues);
}
