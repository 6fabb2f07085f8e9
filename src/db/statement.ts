import type { Knex } from 'knex';

/**
 * Writes of several kinds in ONE statement (one round trip, one commit, all or nothing): each
 * part is a list of named CTEs with their `?` bindings in order. PostgreSQL allows data-modifying
 * CTEs only at the top level, so parts are flattened into one WITH rather than nested.
 */
export interface CteParts {
  ctes: { name: string; sql: string }[];
  bindings: Knex.RawBinding[];
}

export const NO_CTES: CteParts = { ctes: [], bindings: [] };

/** A query builder's SQL as one named CTE. */
export function cteOf(name: string, query: Knex.QueryBuilder | Knex.Raw): CteParts {
  const q = query.toSQL();
  return { ctes: [{ name, sql: q.sql }], bindings: [...(q.bindings as Knex.RawBinding[])] };
}

export function joinCtes(...parts: CteParts[]): CteParts {
  return { ctes: parts.flatMap((p) => p.ctes), bindings: parts.flatMap((p) => p.bindings) };
}

/** `WITH <parts> <final>`; `final` is the statement's answer, e.g. `SELECT id FROM ai_rows`. */
export function runCtes(db: Knex | Knex.Transaction, parts: CteParts, final = 'SELECT 1', finalBindings: Knex.RawBinding[] = []) {
  const sql = parts.ctes.length ? `WITH ${parts.ctes.map((c) => `${c.name} AS (${c.sql})`).join(',\n')} ${final}` : final;
  return db.raw(sql, [...parts.bindings, ...finalBindings]);
}
