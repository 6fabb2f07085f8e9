import { consensusAgreement } from '../../../src/quality';
import { fromItemRows } from './helpers';

describe('consensusAgreement', () => {
  // Annotators r1, r2, r3 by column.
  const ratings = fromItemRows([
    ['a', 'a', 'b'], // others of r1: {a, b} tied → skipped for r1; r2 likewise; r3: others {a, a} → a, r3 disagrees
    ['a', 'a', 'a'], // everyone agrees with the others
    ['b', 'a', 'a'], // r1 vs {a, a}: disagrees; r2 vs {b, a}: tie → skipped; r3 likewise
    ['b', 'b', null], // r1 vs {b}: agrees; r2 vs {b}: agrees
    [null, null, 'a'], // single rating: no consensus for anyone
  ]);

  it('leave-one-out (default): compares with the other annotators, skipping their ties', () => {
    expect(consensusAgreement(ratings, { labels: ['a', 'b'] })).toEqual([
      { annotatorId: 'r1', rated: 4, items: 3, agreed: 2, agreement: 2 / 3 },
      { annotatorId: 'r2', rated: 4, items: 2, agreed: 2, agreement: 1 },
      { annotatorId: 'r3', rated: 4, items: 2, agreed: 1, agreement: 0.5 },
    ]);
  });

  it('with own vote: compares with the majority-vote label (ties by label order)', () => {
    // Majority labels: i1 a, i2 a, i3 a, i4 b (i5 skipped: one rating).
    expect(consensusAgreement(ratings, { labels: ['a', 'b'], leaveOneOut: false })).toEqual([
      { annotatorId: 'r1', rated: 4, items: 4, agreed: 3, agreement: 0.75 },
      { annotatorId: 'r2', rated: 4, items: 4, agreed: 4, agreement: 1 },
      { annotatorId: 'r3', rated: 4, items: 3, agreed: 2, agreement: 2 / 3 },
    ]);
  });

  it('an annotator without any comparable item has agreement null', () => {
    const only = fromItemRows([['a', null], [null, 'b']]);
    expect(consensusAgreement(only).map((r) => r.agreement)).toEqual([null, null]);
  });
});
