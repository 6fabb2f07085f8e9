import { compareDecimals } from '../../../src/annotation/budget';
import { computeCostUsd } from '../../../src/llm/cost';
import {
  DEFAULT_MAX_ANSWER_TOKENS, estimatePromptTokens, isPermanentDbError, ledgerRetryDelayMs, maxAnswerTokens, settleDeadlineMs, upperBoundCostUsd,
} from '../../../src/llm/write-ahead';

const prices = { price_input_per_1k: '0.0015', price_output_per_1k: '0.002' };

describe('upper-bound cost of a call before it is made', () => {
  test('prompt estimate (4 chars a token + chat framing) and max answer tokens at the engine prices', () => {
    expect(estimatePromptTokens({ promptChars: 400, messages: 2 })).toBe(100 + 8 + 3);
    // 111 prompt tokens × 0.0015/1k + 40 answer tokens × 0.002/1k
    expect(upperBoundCostUsd({ promptChars: 400, messages: 2 }, { ...prices, params: { max_tokens: 40 } })).toBe('0.0002465');
  });

  test('max answer tokens: max_tokens, else max_completion_tokens, else the default', () => {
    expect(maxAnswerTokens({ max_tokens: 12 })).toBe(12);
    expect(maxAnswerTokens({ max_completion_tokens: 30 })).toBe(30);
    expect(maxAnswerTokens({ max_tokens: 'lots' })).toBe(DEFAULT_MAX_ANSWER_TOKENS);
    expect(maxAnswerTokens(null)).toBe(DEFAULT_MAX_ANSWER_TOKENS);
  });

  test('every prompt token at the full input price, so a cached-token discount only lowers the real cost', () => {
    const engine = { ...prices, params: { max_tokens: 10, cached_input_per_1k: '0.0001' } };
    const bound = upperBoundCostUsd({ promptChars: 4000, messages: 3 }, engine);
    const real = computeCostUsd({ promptTokens: 1000, completionTokens: 10, cachedTokens: 900 }, engine);
    expect(compareDecimals(bound, real)).toBe(1);
  });

  test('local engines cost nothing', () => {
    expect(upperBoundCostUsd({ promptChars: 4000, messages: 3 }, { ...prices, provider: 'local' })).toBe('0');
  });
});

test('deadline: the call timeout plus the margin, never negative', () => {
  expect(settleDeadlineMs(60_000, 30_000)).toBe(90_000);
  expect(settleDeadlineMs(-5, -5)).toBe(0);
});

test('retry backoff doubles from 50 ms up to the cap', () => {
  expect([1, 2, 3, 4, 5, 6, 7, 50].map((n) => ledgerRetryDelayMs(n))).toEqual([50, 100, 200, 400, 800, 1600, 2000, 2000]);
  expect(ledgerRetryDelayMs(10, 300)).toBe(300);
});

test('permanent database errors (constraints, syntax) are told from passing ones (connections, shutdowns)', () => {
  expect(isPermanentDbError({ code: '23503' })).toBe(true); // foreign key
  expect(isPermanentDbError({ code: '42601' })).toBe(true); // syntax
  expect(isPermanentDbError({ code: '22P02' })).toBe(true); // invalid text representation
  expect(isPermanentDbError({ code: '57P01' })).toBe(false); // admin shutdown
  expect(isPermanentDbError({ code: '08006' })).toBe(false); // connection failure
  expect(isPermanentDbError({ code: 'ECONNRESET' })).toBe(false);
  expect(isPermanentDbError(new Error('Knex: Timeout acquiring a connection'))).toBe(false);
  expect(isPermanentDbError(null)).toBe(false);
});
