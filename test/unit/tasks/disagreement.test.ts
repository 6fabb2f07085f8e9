import { conflictLockKeys, disagreeingItems, type HumanValue } from '../../../src/annotation/disagreement';

const row = (item: string, annotator: string, value: HumanValue['value'], id = `${item}-${annotator}`): HumanValue => ({ id, item_id: item, annotator_id: annotator, value });

describe('disagreeingItems', () => {
  test('two annotators with different labels disagree; equal labels or a lone annotator do not', () => {
    const out = disagreeingItems([
      row('i1', 'a', { label: 'positive' }),
      row('i1', 'b', { label: 'negative' }),
      row('i2', 'a', { label: 'positive' }),
      row('i2', 'b', { label: 'positive' }),
      row('i3', 'a', { label: 'neutral' }),
    ]);
    expect([...out.keys()]).toEqual(['i1']);
    expect(out.get('i1')!.map((r) => r.annotator_id)).toEqual(['a', 'b']);
  });

  test('label sets compare regardless of order', () => {
    const same = disagreeingItems([row('i', 'a', { labels: ['x', 'y'] }), row('i', 'b', { labels: ['y', 'x'] })]);
    expect(same.size).toBe(0);
    const different = disagreeingItems([row('i', 'a', { labels: ['x', 'y'] }), row('i', 'b', { labels: ['x'] })]);
    expect([...different.keys()]).toEqual(['i']);
  });

  test('two values of one annotator are not a disagreement', () => {
    expect(disagreeingItems([row('i', 'a', { label: 'x' }, '1'), row('i', 'a', { label: 'y' }, '2')]).size).toBe(0);
  });

  test('three annotators, one dissenting, disagree; nothing in, nothing out', () => {
    const out = disagreeingItems([row('i', 'a', { label: 'x' }), row('i', 'b', { label: 'x' }), row('i', 'c', { label: 'y' })]);
    expect(out.get('i')).toHaveLength(3);
    expect(disagreeingItems([]).size).toBe(0);
  });
});

test('conflictLockKeys are unique and sorted, so writers lock overlapping items in one order', () => {
  expect(conflictLockKeys(['b', 'a', 'c', 'a'])).toEqual(['conflict:a', 'conflict:b', 'conflict:c']);
  expect(conflictLockKeys(['c', 'a'])).toEqual(conflictLockKeys(['a', 'c']));
});
