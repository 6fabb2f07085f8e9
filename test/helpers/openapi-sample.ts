import crypto from 'node:crypto';

/**
 * The smallest request an OpenAPI operation documents as valid: path parameters and required
 * query parameters filled in, and a body with only its required fields (uuids random, so an id
 * names nothing: 404). For tests that must get past validation on every route without knowing
 * the routes (the route-by-route role test). Pure: no I/O.
 */
type Schema = Record<string, any>;
export interface OpenApiDoc {
  paths: Record<string, Record<string, Schema>>;
  components?: { schemas?: Record<string, Schema> };
}

export interface SampleRequest {
  method: string;
  url: string;
  body?: unknown;
}

export function sampleRequest(doc: OpenApiDoc, path: string, method: string): SampleRequest {
  const op = doc.paths[path][method];
  let url = path;
  const query = new URLSearchParams();
  for (const p of (op.parameters ?? []) as Schema[]) {
    if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(String(sampleValue(doc, p.schema))));
    else if (p.in === 'query' && p.required) query.set(p.name, String(sampleValue(doc, p.schema)));
  }
  const qs = query.toString();
  const json = op.requestBody?.content?.['application/json']?.schema;
  return { method: method.toUpperCase(), url: qs ? `${url}?${qs}` : url, ...(json ? { body: sampleValue(doc, json) } : {}) };
}

export function sampleValue(doc: OpenApiDoc, schema: Schema | undefined, depth = 0): unknown {
  if (!schema || depth > 20) return null;
  if (schema.$ref) return sampleValue(doc, resolveRef(doc, schema.$ref), depth + 1);
  if (schema.enum) return schema.enum[0];
  if (schema.example !== undefined) return schema.example;
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return sampleValue(doc, alternatives[0], depth + 1);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s: Schema) => sampleValue(doc, s, depth + 1)));
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of (schema.required ?? []) as string[]) out[name] = sampleValue(doc, schema.properties?.[name], depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sampleValue(doc, schema.items, depth + 1));
    case 'integer':
    case 'number':
      return schema.minimum ?? (schema.maximum !== undefined ? Math.min(0, schema.maximum) : 1);
    case 'boolean':
      return false;
    case 'string':
      return sampleString(schema);
    default:
      return schema.nullable ? null : 'x';
  }
}

function sampleString(schema: Schema): string {
  switch (schema.format) {
    case 'uuid':
      return crypto.randomUUID();
    case 'date-time':
      return new Date().toISOString();
    case 'uri':
    case 'url':
      return 'http://127.0.0.1:9/';
    default:
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
  }
}

function resolveRef(doc: OpenApiDoc, ref: string): Schema {
  const name = ref.replace('#/components/schemas/', '');
  const found = doc.components?.schemas?.[name];
  if (!found) throw new Error(`unresolved ${ref}`);
  return found;
}
