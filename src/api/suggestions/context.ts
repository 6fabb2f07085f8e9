import type { Knex } from 'knex';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../llm/builtin-engines';
import { MAX_EXAMPLES } from '../../data/project-context';
import { canAccessProject, type Principal } from '../../auth/jwt';
import { engineFromRow, engineJsonSql } from '../../llm/engine-store';
import type { EngineRecord } from '../../db/models';
import { mergeExamples, POOL_LIMIT } from '../../llm/few-shot-pool';
import type { LabelledExample, LabelSchema, ProjectContext } from '../../llm/types';
import { notFound } from '../errors';

export interface SuggestionContext {
  context: ProjectContext;
  routing: { default_engine_id?: string | null; fallback_engine_ids?: string[] };
  /** The item asked for, when one was and it is the project's; else null. */
  item: { data: Record<string, unknown> } | null;
  /**
   * The route's engines the tenant can see, by lower-case id: the requested engine (else the
   * routing default, else the built-in local engine), the routing fallbacks, and those engines'
   * own fallbacks. An id missing here is not visible to the tenant.
   */
  engines: Map<string, EngineRecord>;
}

export interface SuggestionTarget {
  projectId: string;
  itemId?: string;
  engineId?: string;
}

/**
 * Everything a suggestion needs before it calls the switcher, in ONE round trip: the project (as
 * findProjectForPrincipal scopes it: another tenant's or a project outside the token's
 * `projects` is a 404), its prompt examples, the item, and the route's engines. The examples are
 * those activities/project-context.ts gives pre-annotation — the few-shot pool, newest first,
 * then gold labels in item order (the first MAX_EXAMPLES items with a gold label and a text) —
 * merged and bounded the same way. The live suggestion path is latency-bound: each query it
 * saves is a round trip off every suggestion.
 */
export async function loadSuggestionContext(db: Knex, principal: Principal, target: SuggestionTarget): Promise<SuggestionContext> {
  const { projectId } = target;
  if (!canAccessProject(principal, projectId)) throw notFound('project', projectId);
  const tenantId = principal.tenantId;
  const { rows } = await db.raw(
    `WITH p AS (SELECT id, label_schema, guidelines, routing FROM projects WHERE id = ? AND tenant_id = ?),
          route AS (
            SELECT lower(coalesce(?::text, p.routing->>'default_engine_id', ?::text)) AS id FROM p
            UNION
            SELECT lower(f) FROM p, jsonb_array_elements_text(
              CASE jsonb_typeof(p.routing->'fallback_engine_ids') WHEN 'array' THEN p.routing->'fallback_engine_ids' ELSE '[]'::jsonb END) f),
          visible AS (SELECT * FROM engines e WHERE e.tenant_id = ? OR e.tenant_id IS NULL),
          first AS (SELECT * FROM visible WHERE id::text IN (SELECT id FROM route)),
          wanted AS (
            SELECT id FROM first
            UNION
            SELECT v.id FROM visible v WHERE v.id::text IN (
              SELECT lower(f) FROM first, jsonb_array_elements_text(
                CASE jsonb_typeof(first.fallback_engine_ids) WHEN 'array' THEN first.fallback_engine_ids ELSE '[]'::jsonb END) f))
     SELECT p.id, p.label_schema, p.guidelines, p.routing,
            (SELECT coalesce(json_agg(json_build_object('text', g.data->>'text', 'value', g.gold_label) ORDER BY g.seq), '[]'::json)
               FROM (SELECT i.data, i.gold_label, i.seq FROM items i
                      WHERE i.project_id = p.id AND i.gold_label IS NOT NULL ORDER BY i.seq LIMIT ?) g
              WHERE jsonb_typeof(g.data->'text') = 'string') AS gold,
            (SELECT coalesce(json_agg(json_build_object('text', f.text, 'value', f.value) ORDER BY f.updated_at DESC, f.id DESC), '[]'::json)
               FROM (SELECT f.text, f.value, f.updated_at, f.id FROM few_shot_pool f
                      WHERE f.project_id = p.id ORDER BY f.updated_at DESC, f.id DESC LIMIT ?) f) AS pool,
            (SELECT json_build_object('data', i.data) FROM items i WHERE i.project_id = p.id AND i.id = ?::uuid) AS item,
            (SELECT coalesce(json_agg(${engineJsonSql('e')}), '[]'::json) FROM engines e WHERE e.id IN (SELECT id FROM wanted)) AS engines
       FROM p`,
    [projectId, tenantId, target.engineId ?? null, BUILTIN_LOCAL_ENGINE_ID, tenantId, MAX_EXAMPLES, POOL_LIMIT, target.itemId ?? null],
  ).options({ name: 'suggestion_context' }); // prepared once per connection: planning it cost more than running it
  const row = rows[0] as
    | {
        id: string;
        label_schema: LabelSchema;
        guidelines: string | null;
        routing: SuggestionContext['routing'] | null;
        gold: LabelledExample[];
        pool: LabelledExample[];
        item: SuggestionContext['item'];
        engines: Record<string, unknown>[];
      }
    | undefined;
  if (!row) throw notFound('project', projectId);
  const engines = new Map<string, EngineRecord>();
  for (const e of row.engines) {
    const engine = engineFromRow(e);
    engines.set(engine.id.toLowerCase(), engine);
  }
  return {
    context: {
      tenantId,
      projectId: row.id,
      labelSchema: row.label_schema,
      guidelines: row.guidelines,
      examples: mergeExamples(row.pool, row.gold, MAX_EXAMPLES),
    },
    routing: row.routing ?? {},
    item: row.item,
    engines,
  };
}
