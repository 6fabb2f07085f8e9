import fc from 'fast-check';

/**
 * fast-check arbitraries of the values a JSON Schema (OpenAPI 3.1 dialect) accepts: what the
 * published document promises a client may send, independent of the zod schemas behind it.
 * Pure: no I/O. Covers the keywords the API's document uses (type lists, properties/required,
 * additionalProperties, items/minItems/maxItems, enum/const, anyOf/oneOf, minimum/maximum and
 * their exclusive forms, minLength/maxLength in code points, pattern, format uuid/date-time/uri/
 * email, $ref into components). Unknown formats are treated as plain strings.
 */
export type JsonSchema = Record<string, unknown> & {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
};

export interface SchemaArbitraryOptions {
  /** The document `$ref`s point into (`#/components/schemas/X`). */
  root: Record<string, unknown>;
  /**
   * Values to mix in for properties and parameters of these names (e.g. ids of seeded rows, a
   * reachable base_url), half of the time, when they are valid for the schema.
   */
  byName?: Record<string, fc.Arbitrary<unknown>>;
  /** Like byName, but always: for fields the server connects to (base_url), which must stay on the fakes. */
  replaceByName?: Record<string, fc.Arbitrary<unknown>>;
  /** The alphabet of generated strings (default: printable Unicode graphemes and ASCII). */
  stringUnit?: fc.StringConstraints['unit'];
  /**
   * Control characters, NUL and lone surrogates in strings (the API answers them with a 422 naming
   * the field). The suite's fuzz pass turns them on; FUZZ_HOSTILE=0 leaves them out.
   */
  hostile?: boolean;
  /** Extra, undeclared properties on objects that allow them (default true). */
  extraProperties?: boolean;
}

const MAX_DEPTH = 6;
/** One code point, printable (no controls, no surrogate halves), astral planes included. */
const PRINTABLE_CODE_POINT = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0xfffd }), fc.integer({ min: 0x10000, max: 0x10ffff }))
  .map((cp) => String.fromCodePoint(cp));
/** Printable ASCII, printable Unicode graphemes, and single code points (astral ones too). */
const PRINTABLE_UNITS: fc.StringConstraints['unit'][] = ['grapheme-ascii', 'grapheme', PRINTABLE_CODE_POINT];
/** Any code point, control characters and NUL included. */
const HOSTILE_UNITS: fc.StringConstraints['unit'][] = ['grapheme', 'binary-ascii', 'binary'];
const MAX_ITEMS = 4;

/** Resolves a local `$ref` (`#/a/b`). */
export function resolveRef(root: Record<string, unknown>, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split('/')) node = (node as Record<string, unknown>)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  if (!node || typeof node !== 'object') throw new Error(`unresolved $ref ${ref}`);
  return node as JsonSchema;
}

/** Values valid for `schema`. `name` is the property or parameter being generated, for `byName`. */
export function arbitraryFor(schema: JsonSchema, opts: SchemaArbitraryOptions, name?: string, depth = 0): fc.Arbitrary<unknown> {
  const replaced = name ? opts.replaceByName?.[name] : undefined;
  if (replaced) return replaced;
  const generated = fromSchema(schema, opts, depth, name);
  // An array's name applies to its items (item_ids: ids from the item pool, as many as the schema asks);
  // an enum already names its valid values (the export's `labels=final|all` is no label name).
  const named = name && !isArray(schema, opts.root) && !isEnum(schema, opts.root) ? opts.byName?.[name] : undefined;
  return named ? fc.oneof(named, generated) : generated;
}

function isEnum(schema: JsonSchema, root: Record<string, unknown>): boolean {
  const s = schema.$ref ? resolveRef(root, schema.$ref) : schema;
  return Array.isArray(s.enum) || 'const' in s;
}

function isArray(schema: JsonSchema, root: Record<string, unknown>): boolean {
  const s = schema.$ref ? resolveRef(root, schema.$ref) : schema;
  return s.type === 'array';
}

function fromSchema(schema: JsonSchema, opts: SchemaArbitraryOptions, depth: number, name?: string): fc.Arbitrary<unknown> {
  if (schema.$ref) return arbitraryFor(resolveRef(opts.root, schema.$ref), opts, name, depth);
  if ('const' in schema) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((s) => arbitraryFor(s, opts, undefined, depth)));
  if (schema.allOf) return arbitraryFor(mergeAllOf(schema.allOf, opts.root), opts, undefined, depth);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length === 0) return schema.properties ? objectOf(schema, opts, depth) : anyJson(depth);
  return fc.oneof(...types.map((t) => ofType(t, schema, opts, depth, name)));
}

function ofType(type: string, schema: JsonSchema, opts: SchemaArbitraryOptions, depth: number, name?: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return integerOf(schema);
    case 'number':
      return numberOf(schema);
    case 'string':
      return stringOf(schema, opts);
    case 'array':
      return arrayOf(schema, opts, depth, name);
    case 'object':
      return objectOf(schema, opts, depth);
    default:
      throw new Error(`unsupported JSON Schema type ${type}`);
  }
}

function bounds(schema: JsonSchema, step: number): { min?: number; max?: number } {
  const n = (k: string) => (typeof schema[k] === 'number' ? (schema[k] as number) : undefined);
  const exMin = n('exclusiveMinimum');
  const exMax = n('exclusiveMaximum');
  const min = exMin !== undefined ? Math.max(exMin + step, n('minimum') ?? -Infinity) : n('minimum');
  const max = exMax !== undefined ? Math.min(exMax - step, n('maximum') ?? Infinity) : n('maximum');
  return { min, max };
}

function integerOf(schema: JsonSchema): fc.Arbitrary<number> {
  const { min, max } = bounds(schema, 1);
  const lo = Math.ceil(min ?? Number.MIN_SAFE_INTEGER);
  const hi = Math.floor(max ?? Number.MAX_SAFE_INTEGER);
  // Small values too: ids, counts and pages are found near their bounds.
  return fc.oneof(fc.integer({ min: lo, max: hi }), fc.integer({ min: lo, max: Math.min(hi, lo + 10) }));
}

function numberOf(schema: JsonSchema): fc.Arbitrary<number> {
  const { min, max } = bounds(schema, Number.EPSILON);
  const lo = min ?? -1e12;
  const hi = max ?? 1e12;
  // Short decimals as clients write them (2.5, 0.85) as well as any double.
  const cents = fc.integer({ min: Math.ceil(Math.max(lo, -1e12) * 100), max: Math.floor(Math.min(hi, 1e12) * 100) }).map((c) => c / 100);
  const any = fc.double({ min: lo, max: hi, noNaN: true, noDefaultInfinity: true });
  return fc.oneof(cents.filter((x) => x >= lo && x <= hi), any).map((x) => (Object.is(x, -0) ? 0 : x));
}

/** JSON Schema counts string length in code points (not UTF-16 units, as JavaScript does). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function stringOf(schema: JsonSchema, opts: SchemaArbitraryOptions): fc.Arbitrary<string> {
  const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : undefined;
  const fits = (s: string) => codePointLength(s) >= minLength && (maxLength === undefined || codePointLength(s) <= maxLength);
  let arb: fc.Arbitrary<string>;
  if (typeof schema.pattern === 'string') arb = fc.stringMatching(new RegExp(schema.pattern));
  else if (schema.format === 'uuid') arb = fc.uuid();
  else if (schema.format === 'date-time') arb = fc.date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
  else if (schema.format === 'uri') arb = fc.webUrl();
  else if (schema.format === 'email') arb = fc.emailAddress();
  else {
    const size = { minLength, maxLength: Math.min(maxLength ?? 40, minLength + 40) };
    const units = opts.stringUnit ? [opts.stringUnit] : opts.hostile ? HOSTILE_UNITS : PRINTABLE_UNITS;
    const of = (size: { minLength: number; maxLength: number }) => fc.oneof(...units.map((unit) => fc.string({ ...size, unit })));
    // Limits are where schemas disagree: strings of exactly maxLength code points, too.
    // (grapheme units are left out there: a grapheme may be several code points.)
    const single = units.filter((u) => u !== 'grapheme');
    const full = () => fc.oneof(...(single.length ? single : [PRINTABLE_CODE_POINT]).map((unit) => fc.string({ minLength: maxLength!, maxLength, unit })));
    arb = maxLength !== undefined && maxLength <= 2000 ? fc.oneof({ weight: 3, arbitrary: of(size) }, { weight: 1, arbitrary: full() }) : of(size);
    if (opts.hostile) arb = fc.tuple(arb, fc.constantFrom('\u0000', '\ud800', '\udfff', ''), fc.nat()).map(([t, bad, at]) => t.slice(0, at % (t.length + 1)) + bad + t.slice(at % (t.length + 1)));
  }
  return arb.filter(fits);
}

function arrayOf(schema: JsonSchema, opts: SchemaArbitraryOptions, depth: number, name?: string): fc.Arbitrary<unknown[]> {
  const minLength = typeof schema.minItems === 'number' ? schema.minItems : 0;
  const maxLength = Math.min(typeof schema.maxItems === 'number' ? schema.maxItems : MAX_ITEMS, minLength + MAX_ITEMS);
  if (depth >= MAX_DEPTH && minLength === 0) return fc.constant<unknown[]>([]);
  const item = schema.items ? arbitraryFor(schema.items, opts, name, depth + 1) : anyJson(depth + 1);
  return fc.array(item, { minLength, maxLength });
}

function objectOf(schema: JsonSchema, opts: SchemaArbitraryOptions, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const model = Object.fromEntries(Object.entries(props).map(([k, s]) => [k, arbitraryFor(s, opts, k, depth + 1)]));
  const declared = fc.record(model, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) });
  const extra = schema.additionalProperties;
  const undeclaredKey = fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme-ascii' }).filter((k) => !(k in props) && k !== '__proto__');
  let extras: fc.Arbitrary<Record<string, unknown>> = fc.constant({});
  if (extra && typeof extra === 'object' && depth < MAX_DEPTH) {
    extras = fc.dictionary(undeclaredKey, arbitraryFor(extra, opts, undefined, depth + 1), { maxKeys: 3 });
  } else if (extra === undefined && opts.extraProperties !== false && depth < MAX_DEPTH) {
    extras = fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: fc.dictionary(undeclaredKey, anyJson(depth + 1), { maxKeys: 2 }) });
  }
  return fc.tuple(extras, declared).map(([e, d]) => ({ ...e, ...d }));
}

/** Any JSON value (for `{}` schemas), shallower as depth grows. */
function anyJson(depth: number): fc.Arbitrary<unknown> {
  return fc.jsonValue({ maxDepth: Math.max(0, 2 - Math.floor(depth / 2)) }).map((v) => JSON.parse(JSON.stringify(v)));
}

function mergeAllOf(parts: JsonSchema[], root: Record<string, unknown>): JsonSchema {
  const merged: JsonSchema = { type: 'object', properties: {}, required: [] };
  for (const p of parts.map((s) => (s.$ref ? resolveRef(root, s.$ref) : s))) {
    Object.assign(merged.properties!, p.properties ?? {});
    merged.required!.push(...(p.required ?? []));
  }
  return merged;
}
