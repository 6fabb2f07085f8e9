import { allowedMethods } from '../../../src/api/middleware/method-not-allowed';
import { MAX_JSON_DEPTH, decodeUtf8, invalidPercentUtf8, jsonDepthExceeds, stringProblem, unsafeStrings } from '../../../src/api/input/json-text';
import { unavailableDependency } from '../../../src/api/dependency-unavailable';
import { clientErrorStatus } from '../../../src/api/server';
import { createApiRouter } from '../../../src/api/router';

describe('decodeUtf8', () => {
  it('decodes UTF-8 and refuses anything else rather than substituting U+FFFD', () => {
    expect(decodeUtf8(Buffer.from('café 😀'))).toBe('café 😀');
    expect(decodeUtf8(Buffer.from([0x63, 0x61, 0x66, 0xe9]))).toBeNull(); // Latin-1
    expect(decodeUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBeNull(); // an encoded surrogate
    expect(decodeUtf8(Buffer.from([0xc0, 0x80]))).toBeNull(); // overlong NUL
    expect(decodeUtf8(Buffer.from([0xf0, 0x9f, 0x98]))).toBeNull(); // truncated
  });
});

describe('invalidPercentUtf8', () => {
  it('flags escapes that are not UTF-8, not lone percent signs or valid escapes', () => {
    expect(invalidPercentUtf8('q=caf%C3%A9&page=2')).toBe(false);
    expect(invalidPercentUtf8('q=100%&x=%zz')).toBe(false);
    expect(invalidPercentUtf8('q=caf%E9')).toBe(true);
    expect(invalidPercentUtf8('%FF=1')).toBe(true);
    expect(invalidPercentUtf8('q=%ED%A0%80')).toBe(true); // an encoded surrogate
  });
});

describe('jsonDepthExceeds', () => {
  const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  it('counts arrays and objects, not brackets in strings or after escapes', () => {
    expect(jsonDepthExceeds(nest(MAX_JSON_DEPTH))).toBe(false);
    expect(jsonDepthExceeds(nest(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(jsonDepthExceeds(`{"a":{"b":[1,{"c":2}]}}`, 4)).toBe(false);
    expect(jsonDepthExceeds(`{"a":{"b":[1,{"c":2}]}}`, 3)).toBe(true);
    expect(jsonDepthExceeds(`["[[[[\\"[[[["]`, 1)).toBe(false);
    expect(jsonDepthExceeds(`[[],[],[]]`, 2)).toBe(false);
  });
  it('stops at the limit on a 1,000,000-deep body, without recursion', () => {
    const started = Date.now();
    expect(jsonDepthExceeds(nest(1_000_000))).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('stringProblem and unsafeStrings', () => {
  it('refuses NUL and unpaired surrogates, accepts pairs', () => {
    expect(stringProblem('ok 😀')).toBeNull();
    expect(stringProblem('a\u0000')).toMatch(/NUL/);
    expect(stringProblem('\ud800')).toMatch(/surrogate/);
    expect(stringProblem('x\udfffy')).toMatch(/surrogate/);
    expect(stringProblem('\ud83d\ude00')).toBeNull();
  });
  it('names each field by its dotted path, keys included, capped', () => {
    const value = { a: 'fine', b: [{ c: 'x\u0000' }, 'ok', '\udc00'], ['k\u0000']: 1, n: 3, z: null, t: true };
    const issues = unsafeStrings(value);
    expect(issues).toHaveLength(3);
    expect(issues).toEqual(
      expect.arrayContaining([
        { field: 'b.0.c', message: expect.stringMatching(/NUL/) },
        { field: 'b.2', message: expect.stringMatching(/surrogate/) },
        { field: 'k\\u0000', message: expect.stringMatching(/^key .*NUL/) },
      ]),
    );
    expect(unsafeStrings('\u0000')).toEqual([{ field: 'body', message: expect.any(String) }]);
    expect(unsafeStrings({ q: '\u0000' }, 'line 3')).toEqual([{ field: 'line 3.q', message: expect.any(String) }]);
    expect(unsafeStrings(Array.from({ length: 100 }, () => '\u0000'))).toHaveLength(20);
    expect(unsafeStrings(JSON.parse('{"__proto__":{"polluted":1}}'))).toEqual([{ field: '__proto__', message: expect.stringMatching(/prototype/) }]);
  });
});

describe('unavailableDependency', () => {
  const pg = (code: string) => Object.assign(new Error('pg'), { code });
  it.each([
    ['ECONNREFUSED', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), 'database'],
    ['a pool acquire timeout', Object.assign(new Error('Knex: Timeout acquiring a connection'), { name: 'KnexTimeoutError' }), 'database'],
    ['admin shutdown 57P01', pg('57P01'), 'database'],
    ['cannot connect now 57P03', pg('57P03'), 'database'],
    ['connection failure 08006', pg('08006'), 'database'],
    ['too many connections 53300', pg('53300'), 'database'],
    ['a terminated connection', new Error('Connection terminated unexpectedly'), 'database'],
    ['an AggregateError of refusals', new AggregateError([Object.assign(new Error('x'), { code: 'ECONNREFUSED' })]), 'database'],
    ['Temporal UNAVAILABLE', Object.assign(new Error('14 UNAVAILABLE'), { name: 'ServiceError', cause: { code: 14 } }), 'temporal'],
    ['Temporal DEADLINE_EXCEEDED, wrapped', new Error('start failed', { cause: Object.assign(new Error('x'), { name: 'ServiceError', cause: { code: 4 } }) }), 'temporal'],
  ])('%s: the dependency is named', (_name, err, dependency) => {
    expect(unavailableDependency(err)).toBe(dependency);
  });
  it.each([
    ['a bug', new TypeError('undefined is not a function')],
    ['a unique violation', pg('23505')],
    ['NUL in text', pg('22P05')],
    ['Temporal NOT_FOUND', Object.assign(new Error('5 NOT_FOUND'), { name: 'ServiceError', cause: { code: 5 } })],
    ['not an error', 'boom'],
  ])('%s: not an outage', (_name, err) => {
    expect(unavailableDependency(err)).toBeNull();
  });
});

describe('clientErrorStatus (requests Node refuses before Koa)', () => {
  it('maps oversized headers to 431, unknown methods to 405, anything else to 400', () => {
    expect(clientErrorStatus('HPE_HEADER_OVERFLOW')).toMatchObject({ status: 431, code: 'HEADERS_TOO_LARGE' });
    expect(clientErrorStatus('HPE_INVALID_METHOD')).toMatchObject({ status: 405 });
    expect(clientErrorStatus('HPE_INVALID_HEADER_TOKEN')).toMatchObject({ status: 400 });
    expect(clientErrorStatus(undefined)).toMatchObject({ status: 400 });
  });
});

describe('allowedMethods', () => {
  const api = createApiRouter();
  it('lists the methods of every route on the path, HEAD with GET, OPTIONS always', () => {
    expect(allowedMethods([api], '/api/v1/projects')).toEqual(['GET', 'HEAD', 'POST', 'OPTIONS']);
    expect(allowedMethods([api], '/api/v1/nowhere')).toEqual([]);
  });
});
