import type { Knex } from 'knex';
import { Principal, canAccessProject } from '../auth/jwt';
import type { Project } from '../db/models';
import { notFound } from './errors';
import { UUID_PATTERN } from '../formats';

export type ProjectRow = Pick<
  Project,
  'id' | 'tenant_id' | 'name' | 'label_schema' | 'guidelines' | 'routing' | 'created_by' | 'created_at' | 'updated_at'
>;

/**
 * The project, if the principal may see it. Another tenant's project and a project outside the
 * token's `projects` are both a 404: the answer never reveals that the id exists.
 */
export async function findProjectForPrincipal(
  db: Knex | Knex.Transaction,
  principal: Principal,
  projectId: string,
): Promise<ProjectRow> {
  if (!canAccessProject(principal, projectId)) throw notFound('project', projectId);
  const project = await db<ProjectRow>('projects').where({ id: projectId, tenant_id: principal.tenantId }).first();
  if (!project) throw notFound('project', projectId);
  return project;
}

/** Restricts a query on a table with `project_id` to what the principal may see. */
export function scopeToPrincipal<Q extends Knex.QueryBuilder>(query: Q, principal: Principal, projectColumn = 'project_id'): Q {
  query.where('tenant_id', principal.tenantId);
  // Ids that are not UUIDs can name no project, and would make PostgreSQL reject the cast.
  if (principal.projects) query.whereIn(projectColumn, principal.projects.filter((id) => UUID_PATTERN.test(id)));
  return query;
}

/** Tenants are created on first use: the JWT issuer is the source of truth for them. */
export async function ensureTenant(db: Knex | Knex.Transaction, tenantId: string): Promise<void> {
  await db('tenants').insert({ id: tenantId }).onConflict('id').ignore();
}
