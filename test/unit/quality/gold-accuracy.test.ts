import { goldAccuracy, type Rating } from '../../../src/quality';

describe('goldAccuracy', () => {
  const ratings: Rating[] = [
    { itemId: 'g1', annotatorId: 'bob', value: 'cat' },
    { itemId: 'g2', annotatorId: 'bob', value: 'dog' },
    { itemId: 'g3', annotatorId: 'bob', value: 2 },
    { itemId: 'x', annotatorId: 'bob', value: 'cat' }, // not gold
    { itemId: 'g1', annotatorId: 'ann', value: 'dog' },
    { itemId: 'g1', annotatorId: 'ann', value: 'cat' }, // re-submission replaces 'dog'
    { itemId: 'x', annotatorId: 'cy', value: 'cat' },
    { itemId: 'constructor', annotatorId: 'cy', value: 'cat' }, // must not match Object.prototype
  ];

  it('scores each annotator on the gold items they rated (Map or record gold)', () => {
    const expected = [
      { annotatorId: 'ann', items: 1, correct: 1, accuracy: 1 },
      { annotatorId: 'bob', items: 3, correct: 2, accuracy: 2 / 3 },
      { annotatorId: 'cy', items: 0, correct: 0, accuracy: null },
    ];
    expect(goldAccuracy(ratings, { g1: 'cat', g2: 'bird', g3: '2' })).toEqual(expected);
    expect(goldAccuracy(ratings, new Map<string, string | number>([['g1', 'cat'], ['g2', 'bird'], ['g3', 2]]))).toEqual(expected);
  });
});
