import fc from 'fast-check';
import { arbitraryFor, type JsonSchema, type SchemaArbitraryOptions } from './json-schema-arbitrary';

/**
 * Requests generated from one operation of the OpenAPI document. Pure: no I/O.
 * `valid` requests follow the document in every part (the server may still refuse them for
 * reasons of state, e.g. a 404 for an unknown id, but never for their shape); the others break
 * one part on purpose: a param, a query value, the body's shape, JSON syntax or content type,
 * or the credentials.
 */
export type Credentials = 'admin' | 'viewer' | 'none' | 'garbage';

export interface FuzzRequest {
  operationId: string;
  method: string;
  /** With query string, ready to send. */
  url: string;
  headers: Record<string, string>;
  body?: string;
  credentials: Credentials;
  /** Which part was broken on purpose, or 'valid'. */
  variant: 'valid' | 'bad-param' | 'bad-query' | 'bad-body' | 'malformed-json' | 'wrong-content-type' | 'credentials';
  /** The decoded inputs as the document describes them, for checking them against the zod schemas. */
  input: { params: Record<string, string>; query: Record<string, string | string[]>; body?: unknown; contentType?: string };
}

export interface OperationSpec {
  operationId: string;
  method: string;
  path: string;
  parameters?: { name: string; in: string; required?: boolean; schema: JsonSchema }[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  security?: unknown[];
}

/** The operations of an OpenAPI document, flattened. */
export function operationsOf(doc: { paths: Record<string, Record<string, Omit<OperationSpec, 'method' | 'path'>>> }): OperationSpec[] {
  return Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })),
  );
}

/** Any text, the alphabet a hostile client uses (printable; control characters are C's hostile-input cases). */
// '.' and '..' are left out: URL parsing removes them as dot segments (%2E too), so they never reach the route.
const junk = fc.oneof(fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' }), fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme-ascii' })).filter((v) => v !== '.' && v !== '..');

/** A value as it travels in a path or query string. */
export function asText(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export function requestArbitrary(op: OperationSpec, opts: SchemaArbitraryOptions): fc.Arbitrary<FuzzRequest> {
  const params = (op.parameters ?? []).filter((p) => p.in === 'path');
  const queries = (op.parameters ?? []).filter((p) => p.in === 'query');
  const secured = (op.security ?? []).length > 0;

  const validParams = fc.record(Object.fromEntries(params.map((p) => [p.name, arbitraryFor(p.schema, opts, p.name).map(asText)])));
  const validQuery = fc.record(
    Object.fromEntries(queries.map((p) => [p.name, queryValue(p.schema, opts, p.name)])),
    { requiredKeys: queries.filter((p) => p.required).map((p) => p.name) },
  );
  const contents = Object.entries(op.requestBody?.content ?? {});
  const validBody: fc.Arbitrary<{ contentType?: string; value?: unknown; text?: string }> = contents.length
    ? fc.oneof(...contents.map(([type, c]) => bodyOf(type, c.schema, opts)))
    : fc.constant({});
  const variants: FuzzRequest['variant'][] = ['valid', 'valid', 'valid', 'valid', 'valid', 'valid'];
  if (params.length) variants.push('bad-param');
  if (queries.length) variants.push('bad-query');
  if (contents.length) variants.push('bad-body', 'malformed-json', 'wrong-content-type');
  if (secured) variants.push('credentials');

  return fc
    .record({
      variant: fc.constantFrom(...variants),
      params: validParams,
      query: validQuery,
      body: validBody,
      badParam: fc.record({ index: fc.nat(), value: junk }),
      badQuery: fc.record({ index: fc.nat(), value: junk }),
      badBody: fc.jsonValue({ maxDepth: 3 }),
      malformed: fc.constantFrom('{', '{"a":', '[1,]', 'nul', '{"a":1}}', '"unterminated'),
      wrongType: fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x'),
      credentials: fc.constantFrom<Credentials>('viewer', 'none', 'garbage'),
    })
    .map((g) => {
      const p = { ...g.params } as Record<string, string>;
      const q = { ...g.query } as Record<string, string | string[]>;
      let body = g.body;
      if (g.variant === 'bad-param') p[params[g.badParam.index % params.length].name] = g.badParam.value;
      if (g.variant === 'bad-query') q[queries[g.badQuery.index % queries.length].name] = g.badQuery.value;
      if (g.variant === 'bad-body') body = { contentType: 'application/json', value: g.badBody, text: JSON.stringify(g.badBody) };
      if (g.variant === 'malformed-json') body = { contentType: 'application/json', text: g.malformed };
      if (g.variant === 'wrong-content-type') body = { contentType: g.wrongType, text: body.text ?? 'x' };
      const headers: Record<string, string> = {};
      if (body.contentType) headers['Content-Type'] = body.contentType;
      return {
        operationId: op.operationId,
        method: op.method,
        url: fillPath(op.path, p) + queryString(q),
        headers,
        body: body.text,
        credentials: g.variant === 'credentials' ? g.credentials : 'admin',
        variant: g.variant,
        input: { params: p, query: q, body: body.value, contentType: body.contentType },
      } satisfies FuzzRequest;
    });
}

function queryValue(schema: JsonSchema, opts: SchemaArbitraryOptions, name: string): fc.Arbitrary<string | string[]> {
  if (schema.type === 'array' && schema.items) return fc.array(arbitraryFor(schema.items, opts, name).map(asText), { minLength: 1, maxLength: 3 });
  return arbitraryFor(schema, opts, name).map(asText);
}

function bodyOf(type: string, schema: JsonSchema, opts: SchemaArbitraryOptions) {
  if (type === 'application/x-ndjson') {
    // One schema per line: a few lines of it.
    return fc.array(arbitraryFor(schema, opts), { minLength: 1, maxLength: 3 }).map((lines) => ({
      contentType: type,
      value: lines,
      text: lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
    }));
  }
  return arbitraryFor(schema, opts).map((value) => ({ contentType: type, value, text: JSON.stringify(value) }));
}

export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(params[name]));
}

export function queryString(query: Record<string, string | string[]>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const one of Array.isArray(v) ? v : [v]) search.append(k, one);
  const s = search.toString();
  return s ? `?${s}` : '';
}
