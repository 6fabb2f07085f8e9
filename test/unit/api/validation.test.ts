import { z } from 'zod';
import { ApiError, fromZodError, notFound, tooManyRequests, zodIssues } from '../../../src/api/errors';
import { goldLabelSchema, importBodySchema } from '../../../src/api/items/schema';
import { paginationQuery, paged } from '../../../src/api/middleware/pagination';
import { CreateProjectBody, ROUTING_DEFAULTS } from '../../../src/api/projects/schema';
import { toOpenApiPath } from '../../../src/api/openapi';

describe('errors', () => {
  it('turns zod issues into dotted fields', () => {
    const schema = z.object({ items: z.array(z.object({ gold_label: z.object({ label: z.enum(['a', 'b']) }) })) });
    const result = schema.safeParse({ items: [{ gold_label: { label: 'a' } }, { gold_label: { label: 'c' } }] });
    expect(result.success).toBe(false);
    expect(zodIssues(result.error!)).toEqual([{ field: 'items.1.gold_label.label', message: expect.any(String) }]);
    const err = fromZodError(result.error!);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: 'VALIDATION_ERROR' });
  });

  it('names the resource kind in a 404 and sets Retry-After on a 429', () => {
    expect(notFound('project', 'p1')).toMatchObject({ status: 404, code: 'NOT_FOUND', message: 'Project p1 not found' });
    expect(tooManyRequests(12)).toMatchObject({ status: 429, code: 'RATE_LIMITED', headers: { 'Retry-After': '12' } });
  });
});

describe('pagination', () => {
  it('defaults and bounds page and page_size', () => {
    expect(paginationQuery.parse({})).toEqual({ page: 1, page_size: 50 });
    expect(paginationQuery.parse({ page: '3', page_size: '500' })).toEqual({ page: 3, page_size: 500 });
    for (const bad of [{ page: '0' }, { page_size: '1000' }, { page_size: '0' }, { page: 'x' }, { page: '1.5' }]) {
      expect(paginationQuery.safeParse(bad).success).toBe(false);
    }
    expect(paged(['a'], { page: 2, page_size: 1 }, 7)).toEqual({ items: ['a'], page: 2, page_size: 1, total: 7 });
  });
});

describe('project schema', () => {
  const base = { name: 'P', label_schema: { type: 'single_label', labels: ['pos', 'neg'] } };

  it('fills routing defaults and keeps what was given', () => {
    expect(CreateProjectBody.parse({ ...base, routing: { annotators_per_item: 3 } }).routing).toEqual({ ...ROUTING_DEFAULTS, annotators_per_item: 3 });
    expect(CreateProjectBody.parse(base).routing).toBeUndefined();
  });

  it.each([
    ['an unknown label schema type', { label_schema: { type: 'span', labels: ['a'] } }, 'label_schema.type'],
    ['no labels', { label_schema: { type: 'multi_label', labels: [] } }, 'label_schema.labels'],
    ['repeated labels', { label_schema: { type: 'multi_label', labels: ['a', 'a'] } }, 'label_schema.labels'],
    ['an empty label', { label_schema: { type: 'multi_label', labels: ['a', '  '] } }, 'label_schema.labels.1'],
    ['low ≥ high thresholds', { routing: { low_confidence_threshold: 0.9 } }, 'routing.low_confidence_threshold'],
    ['a threshold above 1', { routing: { high_confidence_threshold: 1.5 } }, 'routing.high_confidence_threshold'],
  ])('rejects %s', (_name, patch, field) => {
    const result = CreateProjectBody.safeParse({ ...base, ...patch });
    expect(result.success).toBe(false);
    expect(zodIssues(result.error!).map((i) => i.field)).toContain(field);
  });
});

describe('gold labels', () => {
  it('single_label wants {label} from the project labels', () => {
    const s = goldLabelSchema({ type: 'single_label', labels: ['pos', 'neg'] });
    expect(s.safeParse({ label: 'pos' }).success).toBe(true);
    expect(s.safeParse({ label: 'meh' }).success).toBe(false);
    expect(s.safeParse({ labels: ['pos'] }).success).toBe(false);
  });

  it('multi_label wants a unique subset in {labels}', () => {
    const s = goldLabelSchema({ type: 'multi_label', labels: ['a', 'b', 'c'] });
    expect(s.safeParse({ labels: ['a', 'c'] }).success).toBe(true);
    expect(s.safeParse({ labels: [] }).success).toBe(true);
    expect(s.safeParse({ labels: ['a', 'a'] }).success).toBe(false);
    expect(s.safeParse({ labels: ['d'] }).success).toBe(false);
    expect(s.safeParse({ label: 'a' }).success).toBe(false);
  });

  it('reports the failing item by index', () => {
    const s = importBodySchema({ type: 'single_label', labels: ['pos'] });
    const r = s.safeParse({ items: [{ data: { text: 'x' } }, { data: { text: 'y' }, gold_label: { label: 'neg' } }, { data: {} }] });
    expect(zodIssues(r.error!).map((i) => i.field)).toEqual(['items.1.gold_label.label', 'items.2.data.text']);
  });
});

describe('openapi paths', () => {
  it('converts Koa params to OpenAPI templates', () => {
    expect(toOpenApiPath('/api/v1/projects/:project_id/items')).toBe('/api/v1/projects/{project_id}/items');
  });
});
