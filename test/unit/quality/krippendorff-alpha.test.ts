import { krippendorffAlpha, krippendorffAlphaDetailed, type Rating } from '../../../src/quality';
import { fromCoderRows } from './helpers';

/**
 * Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: four observers,
 * twelve units, missing values. The same matrix is R irr's `kripp.alpha` example (`nmm`), whose
 * documented results (and pyirr's tests) match the paper: nominal 0.743, ordinal 0.815,
 * interval 0.849, ratio 0.797. Unit 12 holds a single value and is not pairable.
 */
const exampleC = fromCoderRows({
  A: [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  B: [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, null],
  C: [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
  D: [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
});

describe('Krippendorff alpha: Krippendorff 2011 example C (4 observers × 12 units, missing values)', () => {
  it('nominal = 0.743', () => {
    // Hand check: disagreeing coincidences Σ_{c≠k} o_ck = 2 (unit 2) + 4 (unit 6) + 2 (unit 8) = 8;
    // n = 40, n_c = (9, 13, 10, 5, 3), Σ n_c² = 384, so α = 1 − 39·8 / (1600 − 384) = 0.743421.
    expect(krippendorffAlpha(exampleC, { metric: 'nominal' })).toBeCloseTo(0.743421, 5);
  });

  it('ordinal = 0.815', () => {
    // Published 0.815; a brute-force enumeration of all value pairs gives 0.8153875.
    expect(krippendorffAlpha(exampleC, { metric: 'ordinal' })).toBeCloseTo(0.815, 3);
    expect(krippendorffAlpha(exampleC, { metric: 'ordinal' })).toBeCloseTo(0.8153875, 6);
  });

  it('interval = 0.849', () => {
    // Hand check: Σ o_ck (c−k)² = 2 (unit 2) + 40/3 (unit 6) + 2 (unit 8) = 52/3;
    // Σ n_c n_k (c−k)² = 2n Σ n_c c² − 2 (Σ n_c c)² = 2·40·306 − 2·100² = 4480;
    // α = 1 − 39 · (52/3) / 4480 = 1 − 676/4480 = 0.849107.
    expect(krippendorffAlpha(exampleC, { metric: 'interval' })).toBeCloseTo(0.849107, 5);
  });

  it('ratio = 0.797', () => {
    // Published 0.797; a brute-force enumeration of all value pairs gives 0.7974028.
    expect(krippendorffAlpha(exampleC, { metric: 'ratio' })).toBeCloseTo(0.797, 3);
    expect(krippendorffAlpha(exampleC, { metric: 'ratio' })).toBeCloseTo(0.7974028, 6);
  });

  it('ordinal with an explicit label order gives the same value as numeric ranks', () => {
    expect(krippendorffAlpha(exampleC, { metric: 'ordinal', labels: ['1', '2', '3', '4', '5'] })).toBeCloseTo(0.815, 3);
  });

  it('builds the published coincidence matrix (n = 40, marginals 9, 13, 10, 5, 3)', () => {
    const r = krippendorffAlphaDetailed(exampleC, { labels: ['1', '2', '3', '4', '5'] });
    expect(r.pairableUnits).toBe(11);
    expect(r.pairableValues).toBeCloseTo(40, 10);
    expect(r.marginals.map((x) => +x.toFixed(10))).toEqual([9, 13, 10, 5, 3]);
    // o_11 = 3·2/2 (unit 1) + 3·2/3 (unit 8) + 2·1/1 (unit 11) = 7; o_12 = 1·1/3 (unit 6) + 3·1/3 (unit 8) = 4/3.
    expect(r.coincidences[0][0]).toBeCloseTo(7, 10);
    expect(r.coincidences[0][1]).toBeCloseTo(4 / 3, 10);
    expect(r.coincidences[1][0]).toBeCloseTo(4 / 3, 10);
    // o_55 = 3·2/2 (unit 10).
    expect(r.coincidences[4][4]).toBeCloseTo(3, 10);
  });

  it('does not depend on the order of the ratings', () => {
    const shuffled = [...exampleC].reverse();
    expect(krippendorffAlpha(shuffled, { metric: 'ordinal' })).toBeCloseTo(krippendorffAlpha(exampleC, { metric: 'ordinal' })!, 12);
  });
});

describe('Krippendorff alpha: Krippendorff 2011 examples A and B (two observers, no missing values)', () => {
  it('A, binary data: α = 0.095', () => {
    // o_00 = 10, o_01 = o_10 = 4, o_11 = 2; n = 20, n_0 = 14, n_1 = 6;
    // α = 1 − (n − 1) o_01 / (n_0 n_1) = 1 − 19·4/84 = 0.095238.
    const ratings = fromCoderRows({
      A: [0, 1, 0, 0, 0, 0, 0, 0, 1, 0],
      B: [1, 1, 1, 0, 0, 1, 0, 0, 0, 0],
    });
    expect(krippendorffAlpha(ratings)).toBeCloseTo(0.095238, 5);
  });

  it('B, nominal data: α = 0.692', () => {
    // Disagreements in units 1, 5, 12 give Σ_{c≠k} o_ck = 6; n = 24, n_c = (a 4, b 6, c 6, d 6, e 2),
    // Σ n_c² = 128; α = 1 − 23·6 / (576 − 128) = 1 − 138/448 = 0.691964.
    const ratings = fromCoderRows({
      A: ['a', 'a', 'b', 'b', 'd', 'c', 'c', 'c', 'e', 'd', 'd', 'a'],
      B: ['b', 'a', 'b', 'b', 'b', 'c', 'c', 'c', 'e', 'd', 'd', 'd'],
    });
    expect(krippendorffAlpha(ratings)).toBeCloseTo(0.691964, 5);
  });
});

describe('Krippendorff alpha: edge cases', () => {
  it('is null without pairable units or without any variation', () => {
    expect(krippendorffAlpha([])).toBeNull();
    expect(krippendorffAlpha([{ itemId: 'x', annotatorId: 'a', value: 'pos' }])).toBeNull();
    const same: Rating[] = [
      { itemId: 'x', annotatorId: 'a', value: 'pos' },
      { itemId: 'x', annotatorId: 'b', value: 'pos' },
    ];
    expect(krippendorffAlpha(same)).toBeNull();
  });

  it('is 1 for perfect agreement with variation', () => {
    const ratings = fromCoderRows({ A: ['x', 'y', 'x'], B: ['x', 'y', 'x'], C: ['x', null, 'x'] });
    expect(krippendorffAlpha(ratings)).toBeCloseTo(1, 12);
  });

  it('rejects non-numeric values for interval and ratio, and unranked values for ordinal', () => {
    const ratings = fromCoderRows({ A: ['low', 'high'], B: ['low', 'low'] });
    expect(() => krippendorffAlpha(ratings, { metric: 'interval' })).toThrow(/numeric/);
    expect(() => krippendorffAlpha(ratings, { metric: 'ordinal' })).toThrow(/numeric/);
    expect(() => krippendorffAlpha(ratings, { metric: 'ordinal', labels: ['low', 'mid'] })).toThrow(/label order/);
    // Ranked by the label order, an ordinal 'low'/'high' set works.
    expect(krippendorffAlpha(ratings, { metric: 'ordinal', labels: ['low', 'mid', 'high'] })).not.toBeNull();
  });
});
