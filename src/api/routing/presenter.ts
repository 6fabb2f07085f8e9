import type { ProjectRow } from '../../db/models';
import { ROUTING_DEFAULTS, type RoutingValue } from '../projects/schema';

/** A project's routing as the API answers it: every field, defaults for those never set. */
export function presentRouting(project: Pick<ProjectRow, 'id' | 'routing' | 'updated_at'>) {
  return {
    project_id: project.id,
    ...ROUTING_DEFAULTS,
    ...((project.routing ?? {}) as Partial<RoutingValue>),
    updated_at: project.updated_at ? new Date(project.updated_at).toISOString() : null,
  };
}
