import type { Knex } from 'knex';
import type { Model, QueryBuilder } from 'objection';
import { Principal, canAccessProject } from '../auth/jwt';
import { Project, Tenant, type ProjectRow } from '../db/models';
import { notFound } from './errors';
import { UUID_PATTERN } from '../formats';

// Route files take a project's row type from here, beside the function that loads it.
export type { ProjectRow };

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
  const project = await Project.query(db).findOne({ id: projectId, tenant_id: principal.tenantId });
  if (!project) throw notFound('project', projectId);
  return project;
}

/** Restricts a query on a table with `project_id` to what the principal may see. */
export function scopeToPrincipal<Q extends Knex.QueryBuilder | QueryBuilder<Model>>(query: Q, principal: Principal, projectColumn = 'project_id'): Q {
  const q = query as Knex.QueryBuilder; // both builders have the same where / whereIn
  q.where('tenant_id', principal.tenantId);
  // Ids that are not UUIDs can name no project, and would make PostgreSQL reject the cast.
  if (principal.projects) q.whereIn(projectColumn, principal.projects.filter((id) => UUID_PATTERN.test(id)));
  return query;
}

/** Tenants are created on first use: the JWT issuer is the source of truth for them. */
export async function ensureTenant(db: Knex | Knex.Transaction, tenantId: string): Promise<void> {
  await Tenant.query(db).insert({ id: tenantId }).onConflict('id').ignore();
}
