import type { Knex } from 'knex';
import { MAX_EXAMPLES } from '../../../activities/project-context';
import { canAccessProject, type Principal } from '../../auth/jwt';
import { mergeExamples, POOL_LIMIT } from '../../llm/few-shot-pool';
import type { LabelledExample, LabelSchema, ProjectContext } from '../../llm/types';
import { notFound } from '../errors';

export interface SuggestionContext {
  context: ProjectContext;
  routing: { default_engine_id?: string | null; fallback_engine_ids?: string[] };
}

/**
 * The project (as findProjectForPrincipal scopes it: another tenant's or a project outside the
 * token's `projects` is a 404) and its prompt context in ONE round trip: the same examples
 * activities/project-context.ts gives pre-annotation — the few-shot pool, newest first, then gold
 * labels in item order (the first MAX_EXAMPLES items with a gold label and a text) — merged and
 * bounded the same way. The live suggestion path is latency-bound; this saves it two queries.
 */
export async function loadSuggestionContext(db: Knex, principal: Principal, projectId: string): Promise<SuggestionContext> {
  if (!canAccessProject(principal, projectId)) throw notFound('project', projectId);
  const { rows } = await db.raw(
    `SELECT p.id, p.label_schema, p.guidelines, p.routing,
            (SELECT coalesce(json_agg(json_build_object('text', g.data->>'text', 'value', g.gold_label) ORDER BY g.seq), '[]'::json)
               FROM (SELECT i.data, i.gold_label, i.seq FROM items i
                      WHERE i.project_id = p.id AND i.gold_label IS NOT NULL ORDER BY i.seq LIMIT ?) g
              WHERE jsonb_typeof(g.data->'text') = 'string') AS gold,
            (SELECT coalesce(json_agg(json_build_object('text', f.text, 'value', f.value) ORDER BY f.updated_at DESC, f.id DESC), '[]'::json)
               FROM (SELECT f.text, f.value, f.updated_at, f.id FROM few_shot_pool f
                      WHERE f.project_id = p.id ORDER BY f.updated_at DESC, f.id DESC LIMIT ?) f) AS pool
       FROM projects p
      WHERE p.id = ? AND p.tenant_id = ?`,
    [MAX_EXAMPLES, POOL_LIMIT, projectId, principal.tenantId],
  );
  const row = rows[0] as
    | { id: string; label_schema: LabelSchema; guidelines: string | null; routing: SuggestionContext['routing'] | null; gold: LabelledExample[]; pool: LabelledExample[] }
    | undefined;
  if (!row) throw notFound('project', projectId);
  return {
    context: {
      tenantId: principal.tenantId,
      projectId: row.id,
      labelSchema: row.label_schema,
      guidelines: row.guidelines,
      examples: mergeExamples(row.pool, row.gold, MAX_EXAMPLES),
    },
    routing: row.routing ?? {},
  };
}
