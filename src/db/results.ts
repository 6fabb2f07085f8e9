/**
 * The row count of an update or delete: node-postgres gives knex a number, knex-pglite (the
 * embedded database) the whole result ({rowCount, affectedRows, rows, ...}).
 */
export function affectedRows(result: unknown): number {
  if (typeof result === 'number') return result;
  const r = result as { rowCount?: unknown; affectedRows?: unknown } | null;
  return Number(r?.rowCount ?? r?.affectedRows ?? 0) || 0;
}
