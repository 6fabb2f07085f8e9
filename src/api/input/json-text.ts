import type { FieldIssue } from '../errors';

/**
 * Pure checks on a request body before and after `JSON.parse` (no I/O), so hostile input is a
 * 4xx that never reaches PostgreSQL: bytes that are not UTF-8, nesting deeper than
 * `MAX_JSON_DEPTH`, and strings PostgreSQL cannot store (NUL) or that are not Unicode (lone
 * surrogates, which only arrive as `\uD800`-style escapes).
 */

/** Deepest nesting of arrays and objects a body may have (documented in README and API.md). */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text, or null when they are not valid UTF-8 (a silent U+FFFD would alter the data). */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * The nesting depth of JSON text, scanning at most until `limit` is passed (so a 100,000-deep
 * body costs one linear pass and no recursion). Brackets inside strings do not count.
 */
export function jsonDepthExceeds(text: string, limit = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * True when a raw query string's %-escapes do not decode as UTF-8 (`?q=%FF`): the query parser
 * would substitute U+FFFD silently, so the request is refused instead (400 INVALID_UTF8).
 */
export function invalidPercentUtf8(rawQuery: string): boolean {
  if (!rawQuery.includes('%')) return false;
  for (const part of rawQuery.split(/[&=]/)) {
    try {
      decodeURIComponent(part.replace(/\+/g, ' '));
    } catch {
      // A lone "%" that is not an escape is left as-is by the parser: only bad escapes count.
      if (/%[0-9a-fA-F]{2}/.test(part)) return true;
    }
  }
  return false;
}

/** Why a string cannot be accepted, or null. */
export function stringProblem(s: string): string | null {
  if (s.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  if (LONE_SURROGATE.test(s)) return 'must not contain unpaired surrogates (not valid Unicode)';
  return null;
}

/**
 * Every string (keys included) of a parsed JSON value that `stringProblem` refuses, as field
 * issues with dotted paths (`items.3.data.text`); at most `max` of them. `prefix` scopes the
 * paths (a query, an NDJSON line). Iterative: depth is bounded by the caller's depth check, but
 * nothing here relies on it.
 */
export function unsafeStrings(value: unknown, prefix = '', max = 20): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const stack: [unknown, string][] = [[value, prefix]];
  while (stack.length && issues.length < max) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const problem = stringProblem(v);
      if (problem) issues.push({ field: path || 'body', message: problem });
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], join(path, String(i))]);
    } else if (v && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        const keyProblem = k === '__proto__' ? 'is not allowed (prototype poisoning)' : stringProblem(k);
        if (keyProblem) issues.push({ field: join(path, safeKey(k)), message: `key ${keyProblem}` });
        else stack.push([child, join(path, k)]);
      }
    }
  }
  return issues;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** A key that cannot be echoed as-is (it is the problem) is shown escaped. */
function safeKey(k: string): string {
  return JSON.stringify(k).slice(1, -1).replace(/[\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
}
