import { pollDelayMs, subtractCounters } from '../../../src/annotation/provider-batching';

test('polling backs off from seconds to minutes and stays there', () => {
  const s = { pollInitialMs: 5000, pollMaxMs: 300_000 };
  expect([0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => pollDelayMs(n, s))).toEqual([5000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  expect(pollDelayMs(0, { pollInitialMs: 500, pollMaxMs: 100 })).toBe(500); // a max below the first wait is the first wait
});

test('a chunk’s counters are added once: the difference from what was counted', () => {
  const before = { processed: 10, succeeded: 8, failed: 2, auto_accepted: 6, needs_review: 2 };
  const after = { processed: 25, succeeded: 23, failed: 2, auto_accepted: 20, needs_review: 3 };
  expect(subtractCounters(after, before)).toEqual({ processed: 15, succeeded: 15, failed: 0, auto_accepted: 14, needs_review: 1 });
});
