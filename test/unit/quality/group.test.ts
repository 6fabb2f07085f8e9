import { groupRatings, type Rating } from '../../../src/quality';

describe('groupRatings', () => {
  const ratings: Rating[] = [
    { itemId: 'x', annotatorId: 'a', value: 'neg' },
    { itemId: 'y', annotatorId: 'a', value: 2 },
    { itemId: 'x', annotatorId: 'b', value: 'pos' },
    { itemId: 'x', annotatorId: 'a', value: 'pos' }, // replaces a's 'neg' on x
  ];

  it('groups by item, keeps the last rating per (item, annotator), labels first then unseen values', () => {
    const g = groupRatings(ratings, ['pos', 'neg']);
    expect(g.itemIds).toEqual(['x', 'y']);
    expect(g.annotatorIds).toEqual(['a', 'b']);
    expect(g.categories).toEqual(['pos', 'neg', '2']);
    expect(g.knownCategories).toBe(2);
    expect(Array.from(g.itemStart)).toEqual([0, 2, 3]);
    const x = [0, 1].map((p) => [g.annotatorIds[g.annotator[p]], g.categories[g.category[p]]]);
    expect(x).toEqual([['b', 'pos'], ['a', 'pos']]);
    expect(g.categories[g.category[2]]).toBe('2');
  });

  it('rejects duplicate labels, and unlisted values when strict', () => {
    expect(() => groupRatings(ratings, ['pos', 'pos'])).toThrow(/duplicate label/);
    expect(() => groupRatings(ratings, ['pos', 'neg'], { strictLabels: true })).toThrow(/not in the label order/);
  });
});
