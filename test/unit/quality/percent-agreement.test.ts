import { percentAgreement } from '../../../src/quality';
import { fromContingency, fromCountRows, fromItemRows } from './helpers';
import type { Rating } from '../../../src/quality';

describe('percentAgreement', () => {
  it('equals Fleiss P̄ of the Wikipedia worked example: 688/1820 = 0.378', () => {
    // Wikipedia "Fleiss' kappa" worked example (10 subjects × 14 raters): P̄ = 0.378.
    const counts = [
      [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
      [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
    ];
    expect(percentAgreement(fromCountRows(counts, ['1', '2', '3', '4', '5']))).toBeCloseTo(688 / 1820, 12);
  });

  it('two annotators: the share of items they agree on (Wikipedia Cohen example p_o = 0.7)', () => {
    const { a, b } = fromContingency([[20, 5], [10, 15]], ['yes', 'no']);
    const ratings: Rating[] = [
      ...a.map((value, t) => ({ itemId: `${t}`, annotatorId: 'A', value })),
      ...b.map((value, t) => ({ itemId: `${t}`, annotatorId: 'B', value })),
    ];
    expect(percentAgreement(ratings)).toBeCloseTo(0.7, 12);
  });

  it('averages per item and skips items with one rating', () => {
    // [x, x, y]: 1 of 3 pairs agree; [x, x]: 1 of 1; [y]: skipped → (1/3 + 1)/2 = 2/3.
    const ratings = fromItemRows([['x', 'x', 'y'], ['x', 'x', null], ['y', null, null]]);
    expect(percentAgreement(ratings)).toBeCloseTo(2 / 3, 12);
    expect(percentAgreement(fromItemRows([['y']]))).toBeNull();
  });

  it('counts one rating per annotator per item (a re-submission replaces the earlier one)', () => {
    const ratings: Rating[] = [
      { itemId: '1', annotatorId: 'a', value: 'x' },
      { itemId: '1', annotatorId: 'b', value: 'y' },
      { itemId: '1', annotatorId: 'a', value: 'y' },
    ];
    expect(percentAgreement(ratings)).toBe(1);
  });
});
