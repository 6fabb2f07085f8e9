import Router from '@koa/router';
import type { ApiContextExtras, ApiState } from '../deps';
import type { Knex } from 'knex';
import { raw } from 'objection';
import { recordAudit } from '../../data/audit';
import { ProjectMember, type MemberRow } from '../../db/models';
import { listModelPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { ProjectParams } from '../projects/schema';
import { findProjectForPrincipal } from '../scope';
import { presentMember } from './presenter';
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
      const r = await upsertMember(trx, { tenant_id: project.tenant_id, project_id: project.id, user_id: body.user_id, role: body.role });
      await recordAudit(trx, {
        tenant_id: project.tenant_id,
        project_id: project.id,
        actor: principal.userId,
        action: r.created ? 'member.added' : 'member.updated',
        entity_type: 'project_member',
        entity_id: `${project.id}:${body.user_id}`,
        details: { user_id: body.user_id, role: body.role },
      });
      return { row: r.member, created: r.created };
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
    const base = ProjectMember.query(ctx.deps.db).where({ project_id: project.id, tenant_id: project.tenant_id });
    if (query.role) base.where('role', query.role);
    const { rows, total } = await listModelPage(base, query, (q) =>
      q.select('project_id', 'user_id', 'role', 'created_at').orderBy([{ column: 'created_at' }, { column: 'user_id' }]),
    );
    ctx.body = paged(rows.map(presentMember), query, total);
  },
);

/**
 * Adds a member or sets an existing member's role, in one statement. `xmax = 0` only for a
 * freshly inserted row: it tells an insert from an update.
 */
async function upsertMember(trx: Knex.Transaction, member: Omit<MemberRow, 'created_at'>): Promise<{ member: ProjectMember; created: boolean }> {
  const row = (await ProjectMember.query(trx)
    .insert(member)
    .onConflict(['project_id', 'user_id'])
    .merge(['role'])
    .returning(['project_id', 'user_id', 'role', 'created_at', raw('(xmax = 0) AS created') as never])) as unknown as ProjectMember & { created: boolean };
  return { member: row, created: row.created };
}
