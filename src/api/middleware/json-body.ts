import zlib from 'node:zlib';
import type { Transform } from 'node:stream';
import parse from 'co-body';
import type { Context, Middleware } from 'koa';
import { ApiError, badRequest, malformedJson, payloadTooLarge, unsupportedMediaType, validationFailed } from '../errors';
import { MAX_JSON_DEPTH, decodeUtf8, jsonDepthExceeds, unsafeStrings } from '../input/json-text';
import type { ApiContextExtras, ApiState } from '../deps';

const JSON_TYPES = ['application/json', '+json'];

/** True when the request announces a body (a length above zero, or a chunked stream). */
export function hasBody(ctx: Context): boolean {
  const len = ctx.get('Content-Length');
  if (len) return Number(len) > 0;
  return ctx.get('Transfer-Encoding') !== '';
}

/** 413 before reading a byte when the declared length is already over the limit. */
export function assertDeclaredLength(ctx: Context, limit: number): void {
  const len = Number(ctx.get('Content-Length') || 0);
  if (len > limit) throw payloadTooLarge(`Request body is larger than ${limit} bytes`);
}

/**
 * Parses a JSON body into `ctx.state.body` (`{}` when there is none). A body of another type is
 * a 415, unparseable JSON a 400 MALFORMED_JSON, more than BODY_LIMIT_BYTES a 413.
 */
export function requireJson(): Middleware<ApiState, ApiContextExtras> {
  return async (ctx, next) => {
    if (!hasBody(ctx)) {
      ctx.state.body = {};
      return next();
    }
    if (!ctx.is(JSON_TYPES)) throw unsupportedMediaType(['application/json']);
    const limit = ctx.deps.config.BODY_LIMIT_BYTES;
    assertDeclaredLength(ctx, limit);
    ctx.state.body = await readJson(ctx, limit);
    await next();
  };
}

/**
 * Reads and parses a JSON body: 413 over `limit` (decompressed bytes), 400 for a
 * `Content-Encoding` that does not decode, 415 for one we do not support, 400 INVALID_UTF8,
 * 400 JSON_TOO_DEEP past MAX_JSON_DEPTH, 400 MALFORMED_JSON, and 422 naming each field whose
 * string holds NUL or a lone surrogate (PostgreSQL cannot store the one, the other is not text).
 */
export async function readJson(ctx: Context, limit: number): Promise<unknown> {
  const value = parseJsonText(await readUtf8(ctx, limit));
  const unsafe = unsafeStrings(value);
  if (unsafe.length) throw validationFailed(unsafe, 'Request body has strings that cannot be accepted');
  return value;
}

/** JSON text → value: 400 JSON_TOO_DEEP before parsing anything too deep, 400 MALFORMED_JSON. */
export function parseJsonText(text: string, what = 'Request body'): unknown {
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) throw badRequest(`${what} is nested deeper than ${MAX_JSON_DEPTH} levels`, 'JSON_TOO_DEEP');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformedJson(`${what} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The body's bytes (decoded per Content-Encoding, within `limit`) as strict UTF-8 text. */
async function readUtf8(ctx: Context, limit: number): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = (await parse.text(ctx, { limit, encoding: null as never })) as unknown as Buffer;
  } catch (err) {
    throw bodyReadError(err, limit);
  }
  const text = decodeUtf8(bytes);
  if (text === null) throw badRequest('Request body is not valid UTF-8', 'INVALID_UTF8');
  return text;
}

/** A failure reading the body, as the client's 4xx (never a 500); anything else is rethrown as is. */
export function bodyReadError(err: unknown, limit: number): unknown {
  const e = err as { type?: string; status?: number; code?: string; message?: string };
  if (e.type === 'entity.too.large') return payloadTooLarge(`Request body is larger than ${limit} bytes`);
  if (e.status === 415) return new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `${e.message}; supported: gzip, deflate, br, identity`);
  // zlib: the bytes are not what Content-Encoding announced.
  if (typeof e.code === 'string' && /^(Z_|ERR__ERROR_)/.test(e.code)) {
    return badRequest(`Request body does not decode as its Content-Encoding: ${e.message}`, 'BAD_CONTENT_ENCODING');
  }
  if (e.type === 'request.aborted') return badRequest('Request body ended early (client aborted)', 'REQUEST_ABORTED');
  return err;
}

/**
 * The decompressor a streamed body needs for its Content-Encoding (none for identity), or a 415
 * for one we do not support. A streamed reader maps the decompressor's errors with bodyReadError.
 */
export function contentDecoder(encoding: string): Transform | null {
  const e = encoding.trim().toLowerCase();
  if (!e || e === 'identity') return null;
  if (e === 'gzip' || e === 'deflate') return zlib.createUnzip();
  if (e === 'br') return zlib.createBrotliDecompress();
  throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Unsupported Content-Encoding: ${e}; supported: gzip, deflate, br, identity`);
}
