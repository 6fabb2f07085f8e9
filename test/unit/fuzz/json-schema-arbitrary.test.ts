import fc from 'fast-check';
import { z } from 'zod';
import { arbitraryFor, codePointLength, type JsonSchema } from '../../helpers/fuzz/json-schema-arbitrary';
import { requestViolations, responseViolations } from '../../helpers/fuzz/contract';
import { requestArbitrary } from '../../helpers/fuzz/requests';
import { ErrorResponse, type DocumentedOperation } from '../../../src/api/openapi';

/** JSON Schema of a zod schema, as the document publishes it, and the root its $refs point into. */
function published(schema: z.ZodType): { schema: JsonSchema; root: Record<string, unknown> } {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
  return { schema: json, root: json };
}

describe('JSON Schema → fast-check', () => {
  const schemas: Record<string, z.ZodType> = {
    'bounded strings, patterns, formats': z.strictObject({
      name: z.string().min(1).max(5),
      code: z.string().regex(/^[A-Z_][A-Z0-9_]*$/),
      id: z.uuid(),
      at: z.iso.datetime(),
      url: z.url(),
    }),
    'numbers and their bounds': z.object({ n: z.number().int().min(-3).max(7), x: z.number().gt(0).lt(1), y: z.number().min(0).max(1000) }),
    'optional, nullable, enums, literals': z.object({ a: z.string().nullable().optional(), e: z.enum(['x', 'y']), k: z.literal('k'), b: z.boolean() }),
    'arrays with bounds and records': z.object({ xs: z.array(z.uuid()).min(2).max(3), r: z.record(z.string(), z.number()) }),
    unions: z.union([z.object({ label: z.string() }), z.object({ labels: z.array(z.string()).min(1) })]),
  };
  for (const [name, schema] of Object.entries(schemas)) {
    it(`generates only values the zod schema accepts: ${name}`, () => {
      const { schema: json, root } = published(schema);
      fc.assert(fc.property(arbitraryFor(json, { root }), (v) => schema.safeParse(v).success), { numRuns: 300 });
    });
  }

  it('counts string length in code points, as JSON Schema does (JavaScript counts UTF-16 units)', () => {
    expect(codePointLength('a😀')).toBe(2);
    expect('a😀'.length).toBe(3);
    const json = { type: 'string', minLength: 2, maxLength: 2 } as JsonSchema;
    fc.assert(fc.property(arbitraryFor(json, { root: {}, stringUnit: 'grapheme' }), (s) => codePointLength(s as string) === 2), { numRuns: 200 });
  });

  it('mixes in named pools (an array’s name pools its items) and always uses replaced names', () => {
    const json = {
      type: 'object',
      properties: { item_ids: { type: 'array', items: { type: 'string', format: 'uuid' }, minItems: 2, maxItems: 2 }, base_url: { type: 'string', format: 'uri' } },
      required: ['item_ids', 'base_url'],
      additionalProperties: false,
    } as JsonSchema;
    const pool = '11111111-1111-4111-8111-111111111111';
    const values = fc.sample(arbitraryFor(json, { root: {}, byName: { item_ids: fc.constant(pool) }, replaceByName: { base_url: fc.constant('http://fake') } }), { numRuns: 200, seed: 1 }) as any[];
    expect(values.every((v) => v.base_url === 'http://fake' && v.item_ids.length === 2)).toBe(true);
    expect(values.some((v) => v.item_ids.includes(pool))).toBe(true);
    expect(values.some((v) => !v.item_ids.includes(pool))).toBe(true);
  });
});

describe('contract checks', () => {
  const body = z.strictObject({ name: z.string().min(1) });
  const op: DocumentedOperation = {
    operationId: 'createThing',
    method: 'post',
    path: '/things/{thing_id}',
    request: { params: z.object({ thing_id: z.uuid() }), body },
    bodies: { 'application/json': body },
    responses: { 201: { schema: z.object({ id: z.uuid() }), contentType: 'application/json' }, 422: { schema: ErrorResponse, contentType: 'application/json' }, 429: { schema: ErrorResponse, contentType: 'application/json' } },
    public: false,
    roles: [],
  };
  const spec = {
    operationId: 'createThing',
    method: 'POST',
    path: '/things/{thing_id}',
    parameters: [{ name: 'thing_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } as JsonSchema }],
    requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { name: { type: 'string', minLength: 1 } }, required: ['name'] } as JsonSchema } } },
    security: [{ bearerAuth: [] }],
  };
  const error = { error: { code: 'X', message: 'm', details: [], correlation_id: 'c', timestamp: 't' } };

  it('passes a documented status whose body matches, and names what is off otherwise', () => {
    const json = (status: number, b: unknown, headers: Record<string, string> = {}) => ({ status, contentType: 'application/json; charset=utf-8', body: b, headers });
    expect(responseViolations(op, json(201, { id: '11111111-1111-4111-8111-111111111111' }))).toEqual([]);
    expect(responseViolations(op, json(404, error))).toEqual([expect.stringContaining('status 404 is not documented')]);
    expect(responseViolations(op, json(201, { id: 'nope' }))).toEqual([expect.stringContaining('201 body does not match its schema: id')]);
    expect(responseViolations(op, json(422, { message: 'flat' }))).toEqual([expect.stringContaining('422 body does not match')]);
    expect(responseViolations(op, { status: 201, contentType: 'text/plain', body: 'x', headers: {} })).toEqual([expect.stringContaining('content type text/plain')]);
    expect(responseViolations(op, json(429, error))).toEqual(['429 without Retry-After']);
    expect(responseViolations(op, json(429, error, { 'retry-after': '3' }))).toEqual([]);
  });

  it('flags a document-valid request the route’s schema refuses (the document allows extra properties, the route is strict)', () => {
    const requests = fc.sample(requestArbitrary(spec, { root: {}, extraProperties: true }), { numRuns: 400, seed: 7 });
    const valid = requests.filter((r) => r.variant === 'valid');
    const refused = valid.filter((r) => requestViolations(op, r).violations.length > 0);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => Object.keys(r.input.body as object).some((k) => k !== 'name'))).toBe(true);
    expect(requestViolations(op, refused[0]).violations[0]).toMatch(/document-valid body refused by the route's schema/);
    // Every broken variant is generated, and broken requests are not checked against the schemas.
    expect(new Set(requests.map((r) => r.variant))).toEqual(new Set(['valid', 'bad-param', 'bad-body', 'malformed-json', 'wrong-content-type', 'credentials']));
    expect(requests.filter((r) => r.variant !== 'valid').every((r) => requestViolations(op, r).violations.length === 0)).toBe(true);
  });
});
