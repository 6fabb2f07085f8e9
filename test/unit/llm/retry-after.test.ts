import { retryAfterSeconds } from '../../../src/llm/providers/retry-after';

const headers = (h: Record<string, string>) => (name: string) => h[name] ?? null;

describe('retryAfterSeconds', () => {
  it('reads delta seconds, retry-after-ms and HTTP dates', () => {
    expect(retryAfterSeconds(headers({ 'retry-after': '7' }))).toBe(7);
    expect(retryAfterSeconds(headers({ 'retry-after': '1.5' }))).toBe(1.5);
    expect(retryAfterSeconds(headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(0.25);
    const now = Date.parse('2026-11-25T12:00:00Z');
    expect(retryAfterSeconds(headers({ 'retry-after': 'Wed, 25 Nov 2026 12:00:30 GMT' }), now)).toBe(30);
    expect(retryAfterSeconds(headers({ 'retry-after': 'Wed, 25 Nov 2026 11:00:00 GMT' }), now)).toBe(0);
  });

  it('is undefined when absent or unreadable', () => {
    expect(retryAfterSeconds(headers({}))).toBeUndefined();
    expect(retryAfterSeconds(headers({ 'retry-after': 'soon' }))).toBeUndefined();
  });
});
