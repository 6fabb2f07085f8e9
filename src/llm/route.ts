import type { Knex } from 'knex';
import { loadVisibleEngines } from './engine-store';
import type { EngineRecord } from '../db/models';

export type EngineLoader = typeof loadVisibleEngines;

/**
 * Engine rows memoised for `ttlMs`: a batch job asks for the same route thousands of times a
 * minute, and an edited engine is picked up within the TTL.
 */
export function memoizedEngineLoader(ttlMs: number, load: EngineLoader = loadVisibleEngines): EngineLoader {
  if (ttlMs <= 0) return load;
  const memo = new Map<string, { at: number; value: Promise<Map<string, EngineRecord>> }>();
  return (db, tenantId, ids) => {
    const key = `${tenantId}\u0000${[...ids].sort().join(',')}`;
    const now = Date.now();
    const hit = memo.get(key);
    if (hit && now - hit.at < ttlMs) return hit.value;
    if (memo.size > 1000) memo.clear(); // bounded: a few routes per tenant in practice
    const value = load(db, tenantId, ids);
    memo.set(key, { at: now, value });
    value.catch(() => memo.delete(key));
    return value;
  };
}

/**
 * Serves the ids found in `engines` (rows the caller already read, keyed by lower-case id) and
 * loads only the others, so a caller that read the route's engines with its own query saves the
 * switcher a round trip.
 */
export function preloadedEngineLoader(engines: ReadonlyMap<string, EngineRecord>, load: EngineLoader): EngineLoader {
  return async (db, tenantId, ids) => {
    const found = new Map<string, EngineRecord>();
    const missing: string[] = [];
    for (const id of ids) {
      const engine = engines.get(String(id).toLowerCase());
      if (engine) found.set(engine.id.toLowerCase(), engine);
      else missing.push(id);
    }
    if (missing.length) for (const [id, engine] of await load(db, tenantId, missing)) found.set(id, engine);
    return found;
  };
}

/** One step of a route: an engine to call, or an id skipped with the reason. */
export type RouteStep = { engine: EngineRecord } | { engineId: string; skipReason: string };

/**
 * The engines to try, in order: the requested engine, its own fallbacks, then the request's
 * extra fallbacks; each id once. Ids the tenant cannot see and disabled engines stay in the
 * route as skipped steps, so the caller can report them as attempts.
 */
export async function resolveRoute(
  db: Knex,
  tenantId: string,
  engineId: string,
  extraFallbackIds: string[] = [],
  load: EngineLoader = loadVisibleEngines,
): Promise<RouteStep[]> {
  const engines = await load(db, tenantId, [engineId, ...extraFallbackIds]);
  const primary = engines.get(engineId.toLowerCase());
  const own = primary?.fallback_engine_ids ?? [];
  const missing = own.filter((id) => !engines.has(id.toLowerCase()));
  if (missing.length) for (const [id, e] of await load(db, tenantId, missing)) engines.set(id, e);

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
