import type { z, ZodType } from 'zod';
import type { DocumentedOperation } from '../../../src/api/openapi';
import type { FuzzRequest } from './requests';

/**
 * What the document promises about one exchange, checked without I/O:
 * - `requestViolations`: a request the document calls valid must pass the route's zod schemas
 *   (otherwise the server refuses, for its shape, a request the document allows);
 * - `responseViolations`: the status is documented for the operation, and a JSON body matches
 *   the zod schema documented for that status.
 */
export interface Answer {
  status: number;
  contentType: string;
  /** Parsed JSON when the answer is JSON; the text otherwise. */
  body: unknown;
  headers: Record<string, string>;
}

/**
 * A zod issue of code `custom` comes from a refinement: a cross-field rule (`give item_id or data,
 * exactly one`, distinct ids, low < high threshold) or a precision rule (at most 10 decimals of a
 * JSON number) that the generated JSON Schema cannot state; descriptions and messages state it.
 * Those are counted apart (`refinements`); every other refusal of a document-valid request is a
 * violation.
 */
export function requestViolations(op: DocumentedOperation, req: FuzzRequest): { violations: string[]; refinements: string[] } {
  const out = { violations: [] as string[], refinements: [] as string[] };
  if (req.variant !== 'valid') return out;
  const check = (part: string, schema: ZodType | undefined, value: unknown) => {
    if (!schema) return;
    const r = schema.safeParse(value);
    if (r.success) return;
    const text = (i: z.core.$ZodIssue) => `${i.path.map(String).join('.') || part}: ${i.message}`;
    const shape = r.error.issues.filter((i) => i.code !== 'custom');
    if (shape.length) out.violations.push(`document-valid ${part} refused by the route's schema: ${shape.map(text).join('; ')}`);
    else out.refinements.push(`${part}: ${r.error.issues.map(text).join('; ')}`);
  };
  check('params', op.request?.params, req.input.params);
  check('query', op.request?.query, req.input.query);
  if (req.input.contentType) {
    const schema = op.bodies[req.input.contentType];
    if (req.input.contentType === 'application/x-ndjson') for (const line of req.input.body as unknown[]) check('body line', schema, line);
    else check('body', schema, req.input.body);
  }
  return out;
}

export function responseViolations(op: DocumentedOperation, answer: Answer): string[] {
  const documented = op.responses[answer.status];
  if (!documented) return [`status ${answer.status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`];
  const problems: string[] = [];
  if (documented.schema) {
    const types: [string, ZodType][] = [[documented.contentType, documented.schema], ...Object.entries(documented.alternatives ?? {})];
    const matched = types.find(([type]) => answer.contentType.startsWith(type.split(';')[0]));
    if (!matched) problems.push(`${answer.status}: content type ${answer.contentType}, documented ${types.map(([t]) => t.split(';')[0]).join(' or ')}`);
    else if (matched[0].startsWith('application/json')) {
      const r = matched[1].safeParse(answer.body);
      if (!r.success) problems.push(`${answer.status} body does not match its schema: ${r.error.issues.slice(0, 3).map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ')}`);
    }
  }
  // 429 always tells when to come back. (503's Retry-After is part C of issue 10, not checked here yet.)
  if (answer.status === 429 && !answer.headers['retry-after']) problems.push('429 without Retry-After');
  return problems;
}
