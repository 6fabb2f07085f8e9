import type { Middleware } from 'koa';
import type { z, ZodType } from 'zod';
import { FieldIssue, badRequest, validationFailed, zodIssues } from '../errors';
import { invalidPercentUtf8, unsafeStrings } from '../input/json-text';
import type { ApiContextExtras, ApiRouterContext, ApiState } from '../deps';

export interface RequestSchemas {
  params?: ZodType;
  query?: ZodType;
  body?: ZodType;
}

type Out<S> = S extends ZodType ? z.output<S> : undefined;

/** What `validate(schemas)` leaves on `ctx.state.input`. */
export interface ValidatedInput<S extends RequestSchemas> {
  params: Out<S['params']>;
  query: Out<S['query']>;
  body: Out<S['body']>;
}

/** A router context whose `state.input` is typed from the route's schemas. */
export type ValidatedContext<S extends RequestSchemas> = ApiRouterContext<ApiState & { input: ValidatedInput<S> }>;

/**
 * Parses path params, query and the JSON body (from `requireJson`) with zod. Every issue of every
 * part is reported at once, as a 422 with `{field, message}` details.
 */
export function validate<S extends RequestSchemas>(schemas: S): Middleware<ApiState, ApiContextExtras> {
  return async (ctx, next) => {
    const sources = {
      params: (ctx as unknown as { params?: Record<string, string> }).params ?? {},
      query: ctx.query,
      body: ctx.state.body,
    };
    if (invalidPercentUtf8(ctx.querystring)) throw badRequest('The query string is not valid UTF-8', 'INVALID_UTF8');
    const input: Record<string, unknown> = {};
    // NUL and lone surrogates in a path or query string (%00, %ED%A0%80) go no further than here.
    const issues: FieldIssue[] = [...unsafeStrings(sources.params), ...unsafeStrings(sources.query)];
    if (issues.length) throw validationFailed(issues);
    for (const part of ['params', 'query', 'body'] as const) {
      const schema = schemas[part];
      if (!schema) continue;
      const result = schema.safeParse(sources[part]);
      if (result.success) input[part] = result.data;
      else issues.push(...zodIssues(result.error));
    }
    if (issues.length) throw validationFailed(issues);
    ctx.state.input = input;
    await next();
  };
}
