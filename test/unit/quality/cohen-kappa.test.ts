import { cohenKappa, cohenKappaFromMatrix, pairwiseCohenKappa, type Rating } from '../../../src/quality';
import { fromContingency } from './helpers';

describe("Cohen's kappa", () => {
  it('Wikipedia "Cohen\'s kappa" example: 50 proposals, yes/no, κ = 0.4', () => {
    // a = 20 (both yes), b = 5 (A yes, B no), c = 10 (A no, B yes), d = 15 (both no):
    // p_o = 35/50 = 0.7; p_yes = 0.5·0.6 = 0.3, p_no = 0.5·0.4 = 0.2, p_e = 0.5; κ = 0.2/0.5 = 0.4.
    expect(cohenKappaFromMatrix([[20, 5], [10, 15]])).toBeCloseTo(0.4, 12);
    const { a, b } = fromContingency([[20, 5], [10, 15]], ['yes', 'no']);
    expect(cohenKappa(a, b)).toBeCloseTo(0.4, 12);
  });

  it('scikit-learn test_cohen_kappa: Artstein & Poesio (2008) Table 1, κ = 0.348', () => {
    // sklearn: y1 = [0]*40 + [1]*60, y2 = [0]*20 + [1]*20 + [0]*10 + [1]*50 → table [[20, 20], [10, 50]].
    // p_o = 0.7; p_e = 0.4·0.3 + 0.6·0.7 = 0.54; κ = 0.16/0.46 = 0.347826.
    const y1 = [...Array(40).fill(0), ...Array(60).fill(1)];
    const y2 = [...Array(20).fill(0), ...Array(20).fill(1), ...Array(10).fill(0), ...Array(50).fill(1)];
    expect(cohenKappa(y1, y2)).toBeCloseTo(0.347826, 5);
    expect(cohenKappa(y2, y1)).toBe(cohenKappa(y1, y2)); // symmetric
    expect(cohenKappa(y1, y1)).toBeCloseTo(1, 12);
  });

  it('scikit-learn test_cohen_kappa: Artstein & Poesio Table 4 (three classes), κ = 0.8013', () => {
    // y1 = [0]*46 + [1]*44 + [2]*10, y2 = [0]*52 + [1]*32 + [2]*16 → rows y1: [[46,0,0],[6,32,6],[0,0,10]].
    // p_o = 0.88; p_e = 0.46·0.52 + 0.44·0.32 + 0.10·0.16 = 0.396; κ = 0.484/0.604 = 0.801325.
    const y1 = [...Array(46).fill(0), ...Array(44).fill(1), ...Array(10).fill(2)];
    const y2 = [...Array(52).fill(0), ...Array(32).fill(1), ...Array(16).fill(2)];
    expect(cohenKappa(y1, y2)).toBeCloseTo(0.801325, 5);
  });

  it('scikit-learn test_cohen_kappa weighting example: none 0.9315, linear 0.9412, quadratic 0.9541', () => {
    // y1 = [0]*46 + [1]*44 + [2]*10, y2 = [0]*50 + [1]*40 + [2]*10 → rows y1: [[46,0,0],[4,40,0],[0,0,10]].
    // Marginals r = (.46, .44, .10), c = (.50, .40, .10); observed disagreement 4 items at distance 1.
    // none:      p_o = .96, p_e = .23 + .176 + .01 = .416, κ = .544/.584 = 0.931507
    // linear:    Σ w e / N = .184 + 2·.046 + .22 + .044 + 2·.05 + .04 = .68,  κ = 1 − .04/.68  = 0.941176
    // quadratic: Σ w e / N = .184 + 4·.046 + .22 + .044 + 4·.05 + .04 = .872, κ = 1 − .04/.872 = 0.954128
    const y1 = [...Array(46).fill(0), ...Array(44).fill(1), ...Array(10).fill(2)];
    const y2 = [...Array(50).fill(0), ...Array(40).fill(1), ...Array(10).fill(2)];
    expect(cohenKappa(y1, y2)).toBeCloseTo(0.931507, 5);
    expect(cohenKappa(y1, y2, { weights: 'linear' })).toBeCloseTo(0.941176, 5);
    expect(cohenKappa(y1, y2, { weights: 'quadratic' })).toBeCloseTo(0.954128, 5);
    // Same through a label order of strings.
    const names = ['neg', 'neu', 'pos'];
    expect(cohenKappa(y1.map((v) => names[v]), y2.map((v) => names[v]), { labels: names, weights: 'quadratic' })).toBeCloseTo(0.954128, 5);
  });

  it('weighted kappa, hand-computed 3×3 example where the weights matter', () => {
    // Table (rows A, cols B) over low < mid < high: [[10, 5, 0], [0, 10, 0], [5, 0, 10]], N = 40.
    // r = (15, 10, 15)/40, c = (15, 15, 10)/40.
    // Observed disagreement: linear 5·1 + 5·2 = 15; quadratic 5·1 + 5·4 = 25 (over N).
    // Expected Σ w r_i c_j·N over i ≠ j (products /40):
    //   (0,1) 15·15 = 225 w1; (0,2) 15·10 = 150 w2; (1,0) 10·15 = 150 w1; (1,2) 10·10 = 100 w1;
    //   (2,0) 15·15 = 225 w2; (2,1) 15·15 = 225 w1.
    //   linear: (225 + 300 + 150 + 100 + 450 + 225)/40 = 1450/40 = 36.25 → κ = 1 − 15/36.25 = 0.586207
    //   quadratic: (225 + 600 + 150 + 100 + 900 + 225)/40 = 2200/40 = 55 → κ = 1 − 25/55 = 0.545455
    //   none: p_o = 30/40 = .75, p_e = (225 + 150 + 150)/1600 = .328125 → κ = .421875/.671875 = 0.627907
    const table = [[10, 5, 0], [0, 10, 0], [5, 0, 10]];
    expect(cohenKappaFromMatrix(table, 'linear')).toBeCloseTo(0.586207, 5);
    expect(cohenKappaFromMatrix(table, 'quadratic')).toBeCloseTo(0.545455, 5);
    expect(cohenKappaFromMatrix(table, 'none')).toBeCloseTo(0.627907, 5);
  });

  it('is null when undefined and rejects unordered values for weighted kappa', () => {
    expect(cohenKappa([], [])).toBeNull();
    expect(cohenKappa(['a', 'a'], ['a', 'a'])).toBeNull();
    expect(() => cohenKappa(['a'], ['b'], { weights: 'linear' })).toThrow(/label order/);
    expect(() => cohenKappa(['a'], ['z'], { labels: ['a', 'b'], weights: 'linear' })).toThrow(/not in the label order/);
    expect(() => cohenKappa(['a'], [])).toThrow(/equal length/);
  });
});

describe('pairwiseCohenKappa', () => {
  it('gives every pair with shared items, ordered by annotator id, with n = shared items', () => {
    // carol and alice reproduce the Wikipedia 50-item table (κ = 0.4); bob shares 4 items with alice only.
    const { a, b } = fromContingency([[20, 5], [10, 15]], ['yes', 'no']);
    const ratings: Rating[] = [];
    a.forEach((v, t) => ratings.push({ itemId: `p${t}`, annotatorId: 'carol', value: v }));
    b.forEach((v, t) => ratings.push({ itemId: `p${t}`, annotatorId: 'alice', value: v }));
    const bob = ['yes', 'no', 'no', 'yes'];
    bob.forEach((v, t) => ratings.push({ itemId: `p${t}`, annotatorId: 'bob', value: v }));

    const pairs = pairwiseCohenKappa(ratings, ['yes', 'no']);
    expect(pairs.map((p) => [p.annotator_a, p.annotator_b, p.n])).toEqual([
      ['alice', 'bob', 4],
      ['alice', 'carol', 50],
      ['bob', 'carol', 4],
    ]);
    expect(pairs[1].kappa).toBeCloseTo(0.4, 12);
    // On p0..p3 alice said yes, yes, yes, yes and bob yes, no, no, yes: p_o = 2/4;
    // p_e = 1·(2/4) + 0·(2/4) = 0.5, so κ = 0 (agreement no better than chance).
    expect(pairs[0].kappa).toBeCloseTo(0, 12);
    expect(pairs[0].kappa).toBeCloseTo(cohenKappa(['yes', 'yes', 'yes', 'yes'], bob)!, 12);
  });

  it('weighted pairwise kappa matches the two-sequence function', () => {
    const labels = ['1', '2', '3'];
    const y1 = [...Array(46).fill(1), ...Array(44).fill(2), ...Array(10).fill(3)];
    const y2 = [...Array(50).fill(1), ...Array(40).fill(2), ...Array(10).fill(3)];
    const ratings: Rating[] = [
      ...y1.map((value, t) => ({ itemId: `i${t}`, annotatorId: 'x', value })),
      ...y2.map((value, t) => ({ itemId: `i${t}`, annotatorId: 'y', value })),
    ];
    const [pair] = pairwiseCohenKappa(ratings, labels, { weights: 'quadratic' });
    expect(pair).toEqual({ annotator_a: 'x', annotator_b: 'y', kappa: expect.closeTo(0.954128, 5), n: 100 });
  });

  it('annotators who share no item form no pair', () => {
    const ratings: Rating[] = [
      { itemId: '1', annotatorId: 'a', value: 'x' },
      { itemId: '2', annotatorId: 'b', value: 'x' },
    ];
    expect(pairwiseCohenKappa(ratings, ['x'])).toEqual([]);
  });
});
