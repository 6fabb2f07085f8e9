import { fleissKappa, krippendorffAlpha, majorityVote, pairwiseCohenKappa, type Rating } from '../../../src/quality';
import { mulberry32 } from './helpers';

/**
 * 100,000 items × 3 ratings from 10 annotators: every measure must stay linear in the number of
 * ratings. Only ranges are asserted (no timing assertions); a quadratic pass would time out.
 */
describe('quality measures at scale', () => {
  it('runs alpha, Fleiss, pairwise Cohen and majority vote on 100k × 3 ratings', () => {
    const labels = ['a', 'b', 'c', 'd', 'e'];
    const rnd = mulberry32(7);
    const ratings: Rating[] = new Array(300_000);
    let r = 0;
    for (let i = 0; i < 100_000; i++) {
      const truth = Math.floor(rnd() * 5);
      const first = Math.floor(rnd() * 10);
      for (let j = 0; j < 3; j++) {
        const value = rnd() < 0.7 ? truth : Math.floor(rnd() * 5);
        ratings[r++] = { itemId: `item-${i}`, annotatorId: `ann-${(first + j * 3) % 10}`, value: labels[value] };
      }
    }

    const alpha = krippendorffAlpha(ratings, { metric: 'nominal', labels })!;
    const fleiss = fleissKappa(ratings, labels)!;
    const pairs = pairwiseCohenKappa(ratings, labels);
    const majority = majorityVote(ratings, labels);

    expect(alpha).toBeGreaterThan(0.4);
    expect(alpha).toBeLessThan(1);
    expect(fleiss).toBeGreaterThan(0.4);
    expect(fleiss).toBeLessThan(1);
    expect(Math.abs(alpha - fleiss)).toBeLessThan(0.01); // same data, fixed n: alpha ≈ Fleiss for large N
    expect(pairs.length).toBeGreaterThan(0);
    expect(pairs.reduce((s, p) => s + p.n, 0)).toBe(300_000); // 3 pairs per item
    for (const p of pairs) {
      expect(p.kappa!).toBeGreaterThan(0.3);
      expect(p.kappa!).toBeLessThan(1);
    }
    expect(majority.size).toBe(100_000);
  });
});
