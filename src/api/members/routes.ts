import Router from '@koa/router';
import type { ApiContextExtras, ApiState } from '../deps';
import { listPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { ProjectParams } from '../projects/schema';
import { findProjectForPrincipal } from '../scope';
import { MemberRow, presentMember } from './presenter';
import { ListMembersQuery, MemberResponse, UpsertMemberBody } from './schema';

export const membersRouter = new Router<ApiState, ApiContextExtras>();

defineRoute(
  membersRouter,
  {
    method: 'post',
    path: '/projects/:project_id/members',
    tags: ['members'],
    summary: 'Add a member or change their role',
    description: 'An upsert on (project, user): 201 when the user was added, 200 when an existing member’s role was set.',
    roles: ['manager'],
    request: { params: ProjectParams, body: UpsertMemberBody },
    responses: {
      201: { description: 'Member added', schema: MemberResponse },
      200: { description: 'Existing member updated', schema: MemberResponse },
    },
  },
  async (ctx) => {
    const { params, body } = ctx.state.input;
    const { db } = ctx.deps;
    const principal = ctx.state.principal!;
    const project = await findProjectForPrincipal(db, principal, params.project_id);
    const { row, created } = await db.transaction(async (trx) => {
      // xmax = 0 only for a freshly inserted row: tells insert from update in one statement.
      const { rows } = await trx.raw(
        `INSERT INTO project_members (tenant_id, project_id, user_id, role) VALUES (?, ?, ?, ?)
         ON CONFLICT (project_id, user_id) DO UPDATE SET role = EXCLUDED.role
         RETURNING project_id, user_id, role, created_at, (xmax = 0) AS created`,
        [project.tenant_id, project.id, body.user_id, body.role],
      );
      const r = rows[0] as MemberRow & { created: boolean };
      await trx('audit_log').insert({
        tenant_id: project.tenant_id,
        project_id: project.id,
        actor: principal.userId,
        action: r.created ? 'member.added' : 'member.updated',
        entity_type: 'project_member',
        entity_id: `${project.id}:${body.user_id}`,
        details: JSON.stringify({ user_id: body.user_id, role: body.role }),
      });
      return { row: r, created: r.created };
    });
    ctx.status = created ? 201 : 200;
    ctx.body = presentMember(row);
  },
);

defineRoute(
  membersRouter,
  {
    method: 'get',
    path: '/projects/:project_id/members',
    tags: ['members'],
    summary: 'List members',
    description: 'In the order they joined; filter by `role` for e.g. the reviewer pool.',
    request: { params: ProjectParams, query: ListMembersQuery },
    responses: { 200: { description: 'A page of members', schema: pageOf(MemberResponse) } },
  },
  async (ctx) => {
    const { params, query } = ctx.state.input;
    const project = await findProjectForPrincipal(ctx.deps.db, ctx.state.principal!, params.project_id);
    const base = ctx.deps.db('project_members').where({ project_id: project.id, tenant_id: project.tenant_id });
    if (query.role) base.where('role', query.role);
    const { rows, total } = await listPage<MemberRow>(base, query, (q) =>
      q.select('project_id', 'user_id', 'role', 'created_at').orderBy([{ column: 'created_at' }, { column: 'user_id' }]),
    );
    ctx.body = paged(rows.map(presentMember), query, total);
  },
);
