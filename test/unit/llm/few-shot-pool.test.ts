import { mergeExamples, normalizeText, textHash } from '../../../src/llm/few-shot-pool';
import { comparisonKey } from '../../../src/api/engines/compare';

describe('few-shot pool helpers', () => {
  it('normalizes case, Unicode width and whitespace', () => {
    expect(normalizeText('  Great\t\tPRODUCT!\n')).toBe('great product!');
    expect(normalizeText('Ｇｒｅａｔ')).toBe('great');
    expect(textHash('Meh.  The courier')).toBe(textHash('meh. the COURIER '));
    expect(textHash('a')).not.toBe(textHash('b'));
  });

  it('puts pool examples first, drops gold texts the pool already teaches, and bounds the result', () => {
    const pool = [
      { text: 'Fine I guess', value: { label: 'neutral' } },
      { text: 'fine i guess', value: { label: 'positive' } }, // a duplicate: the first (newest) wins
    ];
    const gold = [
      { text: 'FINE  I GUESS', value: { label: 'negative' } },
      { text: 'awful', value: { label: 'negative' } },
      { text: 'great', value: { label: 'positive' } },
    ];
    expect(mergeExamples(pool, gold, 10)).toEqual([
      { text: 'Fine I guess', value: { label: 'neutral' } },
      { text: 'awful', value: { label: 'negative' } },
      { text: 'great', value: { label: 'positive' } },
    ]);
    expect(mergeExamples(pool, gold, 2)).toHaveLength(2);
    expect(mergeExamples([], [], 5)).toEqual([]);
  });
});

describe('compare value keys', () => {
  it('compares single labels by label and multi labels as sets', () => {
    expect(comparisonKey({ label: 'a' })).toBe('a');
    expect(comparisonKey({ labels: ['b', 'a', 'b'] })).toBe(comparisonKey({ labels: ['a', 'b'] }));
    expect(comparisonKey({ labels: [] })).toBeNull();
    expect(comparisonKey(null)).toBeNull();
  });
});
