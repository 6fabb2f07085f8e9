import type { Knex } from 'knex';
import type { Model, QueryBuilder } from 'objection';
import { z } from 'zod';

export const MAX_PAGE_SIZE = 500;

/** `page` (from 1) and `page_size` (1–500, default 50); extend it for list filters. */
export const paginationQuery = z.object({
  page: z.coerce.number().int().min(1).default(1).meta({ description: 'Page number, from 1' }),
  page_size: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_PAGE_SIZE)
    .default(50)
    .meta({ description: `Items per page, 1–${MAX_PAGE_SIZE}` }),
});

export type Pagination = z.output<typeof paginationQuery>;

/** The response schema of a list of `item` (for OpenAPI). */
export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({
    items: z.array(item),
    page: z.number().int(),
    page_size: z.number().int(),
    total: z.number().int(),
  });
}

/** Every list answers in this shape. */
export function paged<T>(items: T[], p: Pagination, total: number) {
  return { items, page: p.page, page_size: p.page_size, total };
}

/** Applies limit/offset for the page to a query builder. */
export function pageOfQuery<Q extends Knex.QueryBuilder>(query: Q, p: Pagination): Q {
  return query.limit(p.page_size).offset((p.page - 1) * p.page_size) as Q;
}

/**
 * Runs a list query and its count together. `base` carries only the filters (no order, no
 * columns); `select` adds columns and order to a clone of it.
 */
export async function listPage<Row>(
  base: Knex.QueryBuilder,
  p: Pagination,
  select: (q: Knex.QueryBuilder) => Knex.QueryBuilder,
): Promise<{ rows: Row[]; total: number }> {
  const [rows, [{ count }]] = await Promise.all([
    pageOfQuery(select(base.clone()), p),
    base.clone().clearSelect().clearOrder().count<{ count: string }[]>({ count: '*' }),
  ]);
  return { rows: rows as Row[], total: Number(count) };
}

/**
 * `listPage` for a model's query: the rows come back as model instances. The same two
 * statements: the page, and `count(*)` over the filters.
 */
export async function listModelPage<M extends Model>(
  base: QueryBuilder<M, M[]>,
  p: Pagination,
  select: (q: QueryBuilder<M, M[]>) => QueryBuilder<M, M[]>,
): Promise<{ rows: M[]; total: number }> {
  const [rows, counted] = await Promise.all([
    select(base.clone()).limit(p.page_size).offset((p.page - 1) * p.page_size),
    base.clone().clearSelect().clearOrder().count({ count: '*' }) as unknown as Promise<{ count: string }[]>,
  ]);
  return { rows, total: Number(counted[0].count) };
}
