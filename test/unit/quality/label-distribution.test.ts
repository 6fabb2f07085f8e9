import { labelDistribution } from '../../../src/quality';

describe('labelDistribution', () => {
  it('counts labels in label order, unused labels as 0, unknown values after', () => {
    const d = labelDistribution(['neg', 'pos', 'neg', 'other', 1, '1'], ['pos', 'neg', 'neutral']);
    expect(d.total).toBe(6);
    expect(d.counts).toEqual({ pos: 1, neg: 2, neutral: 0, other: 1, '1': 2 });
    // Integer-like keys come first in a JS object, so the ordered list is in `entries`.
    expect(d.entries).toEqual([['pos', 1], ['neg', 2], ['neutral', 0], ['other', 1], ['1', 2]]);
    expect(d.proportions).toEqual({ pos: 1 / 6, neg: 2 / 6, neutral: 0, other: 1 / 6, '1': 2 / 6 });
  });

  it('handles no values and awkward label names', () => {
    expect(labelDistribution([], ['a'])).toEqual({ total: 0, entries: [['a', 0]], counts: { a: 0 }, proportions: { a: 0 } });
    const d = labelDistribution(['__proto__', '__proto__']);
    expect(Object.prototype.hasOwnProperty.call(d.counts, '__proto__')).toBe(true);
    expect(d.counts['__proto__']).toBe(2);
  });
});
