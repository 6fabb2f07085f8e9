import crypto from 'node:crypto';
import readline from 'node:readline';
import { Transform, type TransformCallback } from 'node:stream';
import type { Knex } from 'knex';
import type { Context } from 'koa';
import type { ZodError } from 'zod';
import { ApiError, FieldIssue, badRequest, payloadTooLarge, validationFailed, zodIssues } from '../errors';
import { bodyReadError, contentDecoder, parseJsonText, readJson } from '../middleware/json-body';
import { unsafeStrings } from '../input/json-text';
import type { ProjectRow } from '../scope';
import { ItemInputValue, MAX_ITEMS_PER_REQUEST, importBodySchema, itemInputSchema } from './schema';
import { insertGoldFinalLabels } from '../../data/final-labels';

/** Rows per INSERT: large enough to be fast, small enough to keep statements light. */
export const INSERT_CHUNK = 1000;
/** Validation reports at most this many problems; the rest are counted in the message. */
const MAX_REPORTED_ISSUES = 100;

export interface ImportResult {
  inserted: number;
  duplicates: number;
  item_ids: string[];
}

export interface ImportOptions {
  project: ProjectRow;
  /** BODY_LIMIT_BYTES. */
  limit: number;
  /** Runs in the import's transaction once every item is written (the audit entry). */
  afterWrite?: (trx: Knex.Transaction, result: ImportResult) => Promise<void>;
}

/**
 * Writes items of one project in chunks inside the caller's transaction. Duplicates (an
 * external_id already in the project, or repeated earlier in the same request) are skipped by
 * the partial unique index and counted.
 */
export class ItemWriter {
  private pending: { id: string; external_id: string | null; data: string; gold_label: string | null }[] = [];
  private inserted = 0;
  private attempted = 0;
  private readonly ids: string[] = [];

  constructor(
    private readonly trx: Knex.Transaction,
    private readonly project: Pick<ProjectRow, 'id' | 'tenant_id'>,
  ) {}

  async add(item: ItemInputValue): Promise<void> {
    this.pending.push({
      id: crypto.randomUUID(),
      external_id: item.external_id ?? null,
      data: JSON.stringify(item.data),
      gold_label: item.gold_label ? JSON.stringify(item.gold_label) : null,
    });
    if (this.pending.length >= INSERT_CHUNK) await this.flush();
  }

  async flush(): Promise<void> {
    if (!this.pending.length) return;
    const rows = this.pending;
    this.pending = [];
    this.attempted += rows.length;
    // unnest: four array parameters per chunk instead of six per row; ORDER BY keeps `seq` in request order.
    const result = await this.trx
      .raw(
        `INSERT INTO items (id, tenant_id, project_id, external_id, data, gold_label)
         SELECT u.id, ?, ?, u.external_id, u.data::jsonb, u.gold_label::jsonb
         FROM unnest(?::uuid[], ?::text[], ?::text[], ?::text[]) WITH ORDINALITY AS u(id, external_id, data, gold_label, ord)
         ORDER BY u.ord
         ON CONFLICT (project_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
         RETURNING id`,
        [
          this.project.tenant_id,
          this.project.id,
          rows.map((r) => r.id),
          rows.map((r) => r.external_id),
          rows.map((r) => r.data),
          rows.map((r) => r.gold_label),
        ] as unknown as Knex.RawBinding[],
      )
      .catch(rethrowStorageError);
    const created = new Set((result.rows as { id: string }[]).map((r) => r.id));
    this.inserted += created.size;
    // A gold label is the item's final label from the start (unless an expert resolves it later).
    const gold = rows.filter((r) => r.gold_label !== null && created.has(r.id)).map((r) => ({ itemId: r.id, gold: JSON.parse(r.gold_label!) }));
    await insertGoldFinalLabels(this.trx, { tenantId: this.project.tenant_id, projectId: this.project.id, items: gold });
    for (const r of rows) if (created.has(r.id)) this.ids.push(r.id);
  }

  result(): ImportResult {
    return { inserted: this.inserted, duplicates: this.attempted - this.inserted, item_ids: this.ids };
  }
}

/** `{"items": [...]}`: parsed whole (within BODY_LIMIT_BYTES), validated whole, then written. */
export async function importJson(ctx: Context, db: Knex, { project, limit, afterWrite }: ImportOptions): Promise<ImportResult> {
  const body = (await readJson(ctx, limit)) as { items?: unknown };
  const count = Array.isArray(body?.items) ? body.items.length : 0;
  if (count > MAX_ITEMS_PER_REQUEST) throw tooManyItems();
  const parsed = importBodySchema(project.label_schema).safeParse(body);
  if (!parsed.success) throw capped(zodIssues(parsed.error));
  return db.transaction(async (trx) => {
    const writer = new ItemWriter(trx, project);
    for (const item of parsed.data.items) await writer.add(item);
    await writer.flush();
    await afterWrite?.(trx, writer.result());
    return writer.result();
  });
}

/**
 * One item per line, streamed: memory stays bounded by the chunk size, whatever the body size.
 * Lines are written as they pass validation, inside one transaction; the first bad line throws
 * and the transaction rolls back, so a rejected import writes nothing. Blank lines are skipped.
 */
export async function importNdjson(ctx: Context, db: Knex, { project, limit, afterWrite }: ImportOptions): Promise<ImportResult> {
  const schema = itemInputSchema(project.label_schema);
  const decoder = contentDecoder(ctx.get('Content-Encoding')); // 415 before the transaction opens
  return db.transaction(async (trx) => {
    const writer = new ItemWriter(trx, project);
    const limited = new ByteLimit(limit);
    ctx.req.on('error', (err) => limited.destroy(err));
    decoder?.on('error', (err) => limited.destroy(bodyReadError(err, limit) as Error));
    // A client that goes away mid-upload must not leave the transaction waiting for more lines.
    ctx.req.on('close', () => {
      if (!ctx.req.complete) limited.destroy(badRequest('Request body ended early (client aborted)', 'REQUEST_ABORTED'));
    });
    if (decoder) ctx.req.pipe(decoder).pipe(limited);
    else ctx.req.pipe(limited);
    // readline emits lines as soon as it exists; iterate it in the same tick, or lines are lost.
    const lines = readline.createInterface({ input: limited, crlfDelay: Infinity });
    try {
      let lineNo = 0;
      let count = 0;
      for await (const line of lines) {
        lineNo += 1;
        if (!line.trim()) continue;
        if (++count > MAX_ITEMS_PER_REQUEST) throw tooManyItems();
        const value = parseLine(line, lineNo);
        const parsed = schema.safeParse(value);
        if (!parsed.success) throw lineError(lineNo, parsed.error);
        await writer.add(parsed.data);
      }
      if (count === 0) throw validationFailed([{ field: 'body', message: 'no items: send one JSON item per line' }]);
      await writer.flush();
      await afterWrite?.(trx, writer.result());
      return writer.result();
    } finally {
      lines.close();
      if (decoder) {
        ctx.req.unpipe(decoder);
        decoder.unpipe(limited);
      } else ctx.req.unpipe(limited);
    }
  });
}

/** One NDJSON line: 400 too deep or not JSON, 422 for NUL / lone surrogates (as for a JSON body). */
function parseLine(line: string, lineNo: number): unknown {
  let value: unknown;
  try {
    value = parseJsonText(line, `Line ${lineNo}`);
  } catch (err) {
    const e = err as ApiError;
    throw new ApiError(400, e.code ?? 'MALFORMED_JSON', e.message, [{ field: `line ${lineNo}`, message: e.message }]);
  }
  const unsafe = unsafeStrings(value, `line ${lineNo}`);
  if (unsafe.length) throw validationFailed(unsafe, `Line ${lineNo} has strings that cannot be accepted`);
  return value;
}

/**
 * Errors out once more than `limit` bytes have passed, or on bytes that are not UTF-8 (readline
 * would turn them into U+FFFD silently, altering the data).
 */
class ByteLimit extends Transform {
  private seen = 0;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true });
  constructor(private readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) return cb(payloadTooLarge(`Request body is larger than ${this.limit} bytes`));
    try {
      this.utf8.decode(chunk, { stream: true });
    } catch {
      return cb(badRequest('Request body is not valid UTF-8', 'INVALID_UTF8'));
    }
    cb(null, chunk);
  }
  override _flush(cb: TransformCallback): void {
    try {
      this.utf8.decode();
    } catch {
      return cb(badRequest('Request body is not valid UTF-8 (it ends inside a character)', 'INVALID_UTF8'));
    }
    cb();
  }
}

function lineError(lineNo: number, error: ZodError): ApiError {
  const details = zodIssues(error).map((i) => ({ field: `line ${lineNo}`, message: `${i.field}: ${i.message}` }));
  return validationFailed(details, `Line ${lineNo} is not a valid item`);
}

function capped(issues: FieldIssue[]): ApiError {
  if (issues.length <= MAX_REPORTED_ISSUES) return validationFailed(issues);
  return validationFailed(
    issues.slice(0, MAX_REPORTED_ISSUES),
    `Request validation failed: ${issues.length} problems, the first ${MAX_REPORTED_ISSUES} listed`,
  );
}

function tooManyItems(): ApiError {
  return payloadTooLarge(`At most ${MAX_ITEMS_PER_REQUEST} items per request; split the import`, [
    { field: 'items', message: `more than ${MAX_ITEMS_PER_REQUEST} items` },
  ]);
}

/** PostgreSQL refuses a few strings JSON allows (NUL characters); that is the client's data, not our fault. */
function rethrowStorageError(err: { code?: string; message?: string }): never {
  if (err.code === '22P05' || err.code === '22021') {
    throw validationFailed([{ field: 'items', message: `cannot be stored: ${err.message}` }]);
  }
  throw err;
}
