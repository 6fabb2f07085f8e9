import { batchesInFlight, nextBatch } from '../../../src/annotation/batching';
import { addCounters, countersFromStatuses, progressView, ZERO_COUNTERS } from '../../../src/annotation/job-progress';
import { needsReviewTask, routeByConfidence, thresholdsFrom } from '../../../src/annotation/routing';
import { forEachLimited, Semaphore } from '../../../src/annotation/semaphore';

describe('routing by confidence', () => {
  const t = { high_confidence_threshold: 0.8, low_confidence_threshold: 0.4 };
  test('at or above high is auto-accepted, below it needs review', () => {
    expect(routeByConfidence(0.8, t)).toBe('auto_accepted');
    expect(routeByConfidence(0.95, t)).toBe('auto_accepted');
    expect(routeByConfidence(0.7999, t)).toBe('needs_review');
    expect(routeByConfidence(0.1, t)).toBe('needs_review');
  });
  test('only items below low become review tasks', () => {
    expect(needsReviewTask(0.39, t)).toBe(true);
    expect(needsReviewTask(0.4, t)).toBe(false);
  });
  test('thresholds fall back to defaults when the routing config lacks them', () => {
    expect(thresholdsFrom({})).toEqual({ high_confidence_threshold: 0.85, low_confidence_threshold: 0.5 });
    expect(thresholdsFrom({ high_confidence_threshold: 0.9, low_confidence_threshold: 0.2 })).toEqual({
      high_confidence_threshold: 0.9,
      low_confidence_threshold: 0.2,
    });
  });
});

describe('batching', () => {
  test('walks the sequence in half-open ranges, the last one short', () => {
    const ranges = [];
    for (let c = 0, r = nextBatch(c, 23, 10); r; c = r.toSeq, r = nextBatch(c, 23, 10)) ranges.push(r);
    expect(ranges).toEqual([
      { fromSeq: 0, toSeq: 10 },
      { fromSeq: 10, toSeq: 20 },
      { fromSeq: 20, toSeq: 23 },
    ]);
    expect(nextBatch(23, 23, 10)).toBeNull();
    expect(() => nextBatch(0, 5, 0)).toThrow();
  });
  test('keeps enough batches in flight to cover the concurrency, plus one', () => {
    expect(batchesInFlight(32, 50)).toBe(2);
    expect(batchesInFlight(32, 10)).toBe(5);
    expect(batchesInFlight(1, 100)).toBe(2);
  });
});

describe('job progress', () => {
  test('counters from annotation statuses', () => {
    expect(countersFromStatuses({ auto_accepted: 3, needs_review: 2, failed: 1 })).toEqual({
      processed: 6, succeeded: 5, failed: 1, auto_accepted: 3, needs_review: 2,
    });
    expect(addCounters(ZERO_COUNTERS, countersFromStatuses({ failed: 2 })).failed).toBe(2);
  });
  test('percent and ETA from elapsed time and processed items', () => {
    const v = progressView({
      status: 'running',
      total: 200,
      counters: countersFromStatuses({ auto_accepted: 50 }),
      startedAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:10.000Z',
      now: Date.parse('2026-01-01T00:00:10.000Z'),
    });
    expect(v.percent).toBe(25);
    expect(v.eta_seconds).toBe(30); // 10 s for 50 items, 150 to go
    const done = progressView({ status: 'completed', total: 0, counters: ZERO_COUNTERS, startedAt: null, updatedAt: null });
    expect(done.percent).toBe(100);
    expect(done.eta_seconds).toBe(0);
  });
});

describe('semaphore', () => {
  test('never lets more than the limit run at once and runs everything', async () => {
    let active = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachLimited([...Array(40).keys()], 3, async (i) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 1));
      seen.push(i);
      active--;
    });
    expect(peak).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(40).keys()]);
    expect(() => new Semaphore(0)).toThrow();
  });
});
