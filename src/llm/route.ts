import type { Knex } from 'knex';
import { loadVisibleEngines, type EngineRecord } from './engine-store';

/** One step of a route: an engine to call, or an id skipped with the reason. */
export type RouteStep = { engine: EngineRecord } | { engineId: string; skipReason: string };

/**
 * The engines to try, in order: the requested engine, its own fallbacks, then the request's
 * extra fallbacks; each id once. Ids the tenant cannot see and disabled engines stay in the
 * route as skipped steps, so the caller can report them as attempts.
 */
export async function resolveRoute(db: Knex, tenantId: string, engineId: string, extraFallbackIds: string[] = []): Promise<RouteStep[]> {
  const engines = await loadVisibleEngines(db, tenantId, [engineId, ...extraFallbackIds]);
  const primary = engines.get(engineId.toLowerCase());
  const own = primary?.fallback_engine_ids ?? [];
  const missing = own.filter((id) => !engines.has(id.toLowerCase()));
  if (missing.length) for (const [id, e] of await loadVisibleEngines(db, tenantId, missing)) engines.set(id, e);

  const seen = new Set<string>();
  const steps: RouteStep[] = [];
  for (const id of [engineId, ...own, ...extraFallbackIds]) {
    const key = String(id).toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const engine = engines.get(key);
    if (!engine) steps.push({ engineId: id, skipReason: 'not_found: no such engine' });
    else if (!engine.enabled) steps.push({ engineId: engine.id, skipReason: 'disabled: engine is disabled' });
    else steps.push({ engine });
  }
  return steps;
}
