import type { ZodError } from 'zod';
import { UNAVAILABLE_RETRY_AFTER_S } from './dependency-unavailable';

export interface FieldIssue {
  field: string;
  message: string;
}

/**
 * The one error type handlers throw. The error handler renders it as
 * `{"error": {code, message, details, correlation_id, timestamp}}` with `status`.
 */
export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly details: FieldIssue[] = [],
    /** Extra response headers, e.g. Retry-After on a 429. */
    public readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, code = 'BAD_REQUEST', details?: FieldIssue[]) =>
  new ApiError(400, code, message, details);

export const malformedJson = (message = 'Request body is not valid JSON') => badRequest(message, 'MALFORMED_JSON');

export const unauthorized = (message = 'A valid bearer token is required') => new ApiError(401, 'UNAUTHORIZED', message);

export const forbidden = (message = 'Your role does not allow this action') => new ApiError(403, 'FORBIDDEN', message);

/** `kind` names the resource ("project", "item", …); the message never says whether it exists elsewhere. */
export const notFound = (kind: string, id?: string) =>
  new ApiError(404, 'NOT_FOUND', id ? `${capitalize(kind)} ${id} not found` : `${capitalize(kind)} not found`);

export const conflict = (message: string, details?: FieldIssue[]) => new ApiError(409, 'CONFLICT', message, details);

export const payloadTooLarge = (message: string, details?: FieldIssue[]) =>
  new ApiError(413, 'PAYLOAD_TOO_LARGE', message, details);

export const unsupportedMediaType = (allowed: string[]) =>
  new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${allowed.join(' or ')}`);

export const validationFailed = (details: FieldIssue[], message = 'Request validation failed') =>
  new ApiError(422, 'VALIDATION_ERROR', message, details);

export const tooManyRequests = (retryAfterSeconds: number) =>
  new ApiError(429, 'RATE_LIMITED', `Rate limit exceeded; retry in ${retryAfterSeconds}s`, [], {
    'Retry-After': String(retryAfterSeconds),
  });

/** Every 503 says when to try again. */
export const serviceUnavailable = (message: string, details?: FieldIssue[]) =>
  new ApiError(503, 'SERVICE_UNAVAILABLE', message, details, { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_S) });

/**
 * Zod issues as `{field, message}` with a dotted path (`items.3.gold_label`); `prefix` scopes
 * them, e.g. to a line of an NDJSON body.
 */
export function zodIssues(error: ZodError, prefix?: string): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const field = [prefix, path].filter(Boolean).join('.') || prefix || 'body';
    return { field, message: issue.message };
  });
}

export const fromZodError = (error: ZodError, prefix?: string) => validationFailed(zodIssues(error, prefix));

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
