import { fleissKappa, fleissKappaFromCounts, type Rating } from '../../../src/quality';
import { fromCountRows, fromItemRows } from './helpers';

/**
 * Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories; κ ≈ 0.210.
 * Hand check: P̄ = Σ_i (Σ_j n_ij² − 14) / (10·14·13) = 688/1820 = 0.378022;
 * p_j = (20, 28, 39, 21, 32)/140, P̄_e = 4170/19600 = 0.212755;
 * κ = (0.378022 − 0.212755) / (1 − 0.212755) = 0.209932.
 */
const wikipedia = [
  [0, 0, 0, 0, 14],
  [0, 2, 6, 4, 2],
  [0, 0, 3, 5, 6],
  [0, 3, 9, 2, 0],
  [2, 2, 8, 1, 1],
  [7, 7, 0, 0, 0],
  [3, 2, 6, 3, 0],
  [2, 5, 3, 2, 2],
  [6, 5, 2, 1, 0],
  [0, 2, 2, 3, 7],
];

/**
 * Fleiss (1971), Psychological Bulletin 76(5), Table 1: 30 patients, 6 psychiatrists each,
 * 5 diagnoses (1 depression, 2 personality disorder, 3 schizophrenia, 4 neurosis, 5 other).
 * Published κ = 0.430; R irr `kappam.fleiss(diagnoses)` gives 0.4302445 and per-category kappas
 * 0.245, 0.245, 0.520, 0.471, 0.566 (the `diagnoses` data set of irr, also used by statsmodels'
 * and pyirr's tests).
 */
const diagnoses = [
  [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
  [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
  [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
  [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
  [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
  [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5],
];

describe('Fleiss kappa', () => {
  it('Wikipedia worked example: κ = 0.210 (P̄ = 0.378, P̄_e = 0.213)', () => {
    const r = fleissKappaFromCounts(wikipedia);
    expect(r.kappa).toBeCloseTo(0.209932, 5);
    expect(r.observed).toBeCloseTo(688 / 1820, 10);
    expect(r.expected).toBeCloseTo(4170 / 19600, 10);
    expect(r.proportions.map((p) => p * 140)).toEqual([20, 28, 39, 21, 32].map((x) => expect.closeTo(x, 9)));
    expect(r.fixedRaters).toBe(true);
    expect(r.items).toBe(10);
  });

  it('Wikipedia worked example from raw ratings gives the same κ', () => {
    const labels = ['1', '2', '3', '4', '5'];
    expect(fleissKappa(fromCountRows(wikipedia, labels), labels)).toBeCloseTo(0.209932, 5);
  });

  it('Fleiss 1971 psychiatric diagnoses (30 × 6): κ = 0.430 and the per-category kappas', () => {
    const ratings = fromItemRows(diagnoses);
    expect(fleissKappa(ratings)).toBeCloseTo(0.4302445, 6);

    const counts = diagnoses.map((row) => [1, 2, 3, 4, 5].map((c) => row.filter((v) => v === c).length));
    const r = fleissKappaFromCounts(counts);
    expect(r.kappa).toBeCloseTo(0.4302445, 6);
    const expected = [0.245, 0.245, 0.52, 0.471, 0.566];
    r.perCategory!.forEach((k, j) => expect(k).toBeCloseTo(expected[j], 3));
  });

  it('varying raters per item: the generalisation, by hand', () => {
    // Items: [a, a, a], [a, b], [b, b] → P_i = 1, 0, 1, P̄ = 2/3; p_a = 4/7, p_b = 3/7, P̄_e = 25/49;
    // κ = (2/3 − 25/49) / (1 − 25/49) = (23/147) / (24/49) = 23/72 = 0.319444.
    const ratings = fromItemRows([['a', 'a', 'a'], ['a', 'b', null], ['b', null, 'b']]);
    expect(fleissKappa(ratings)).toBeCloseTo(23 / 72, 12);
    const r = fleissKappaFromCounts([[3, 0], [1, 1], [0, 2]]);
    expect(r.kappa).toBeCloseTo(23 / 72, 12);
    expect(r.fixedRaters).toBe(false);
    expect(r.perCategory).toBeNull();
  });

  it('skips items with a single rating and is null when undefined', () => {
    const single: Rating[] = [{ itemId: 'z', annotatorId: 'q', value: 'b' }];
    const ratings = [...fromItemRows([['a', 'a', 'a'], ['a', 'b', null], ['b', null, 'b']]), ...single];
    expect(fleissKappa(ratings)).toBeCloseTo(23 / 72, 12);
    expect(fleissKappa(single)).toBeNull();
    expect(fleissKappa(fromItemRows([['a', 'a'], ['a', 'a']]))).toBeNull();
  });
});
