import parse from 'co-body';
import type { Context, Middleware } from 'koa';
import { malformedJson, payloadTooLarge, unsupportedMediaType } from '../errors';
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

/** Reads and parses a JSON body, mapping parser failures to our 400 / 413. */
export async function readJson(ctx: Context, limit: number): Promise<unknown> {
  try {
    return await parse.json(ctx, { limit, strict: true });
  } catch (err) {
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') throw payloadTooLarge(`Request body is larger than ${limit} bytes`);
    if (err instanceof SyntaxError || e.status === 400) throw malformedJson(`Request body is not valid JSON: ${(err as Error).message}`);
    throw err;
  }
}
