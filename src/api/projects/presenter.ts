import type { ProjectRow } from '../scope';
import { ROUTING_DEFAULTS } from './schema';
import { iso } from '../../formats';

/** The one place a project row becomes its API shape. */
export function presentProject(p: ProjectRow) {
  return {
    id: p.id,
    name: p.name,
    label_schema: p.label_schema,
    guidelines: p.guidelines ?? null,
    // Rows written before a routing field existed still answer every field.
    routing: { ...ROUTING_DEFAULTS, ...(p.routing ?? {}) },
    created_by: p.created_by,
    created_at: iso(p.created_at),
    updated_at: iso(p.updated_at),
  };
}
