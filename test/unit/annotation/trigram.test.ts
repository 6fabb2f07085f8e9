import { setSimilarity, similarity, trigrams } from '../../../src/annotation/trigram';

/** Values computed by PostgreSQL 15's pg_trgm (`SELECT show_trgm(...)`, `SELECT similarity(...)`). */
describe('trigram similarity mirrors pg_trgm', () => {
  test('trigrams as show_trgm lists them', () => {
    expect([...trigrams('word')].sort()).toEqual(['  w', ' wo', 'ord', 'rd ', 'wor'].sort());
    expect([...trigrams('Hello, World! 42x')].sort()).toEqual(
      ['  4', '  h', '  w', ' 42', ' he', ' wo', '2x ', '42x', 'ell', 'hel', 'ld ', 'llo', 'lo ', 'orl', 'rld', 'wor'].sort(),
    );
    expect([...trigrams('a')].sort()).toEqual(['  a', ' a ']);
    // The underscore separates words.
    expect([...trigrams('ab_cd')].sort()).toEqual(['  a', '  c', ' ab', ' cd', 'ab ', 'cd '].sort());
    expect(trigrams('!!!').size).toBe(0);
  });

  test.each([
    ['word', 'two words', 0.36363637],
    ['the quick brown fox', 'the quick brown fox!', 1],
    ['The battery died after two days', 'the battery died after 2 days', 0.83870965],
    ['I love this phone', 'Terrible customer service', 0.023255814],
    ['', '', 0],
    ['abc', '', 0],
    ['!!!', 'abc', 0],
    ['aaaa', 'aaa', 1],
    ['Hello World', 'hello world', 1],
    ['ab_cd', 'ab cd', 1],
    ['café naïve', 'cafe naive', 0.375],
    ['x', 'x', 1],
  ])('similarity(%j, %j) = %d', (a, b, expected) => {
    expect(similarity(a, b)).toBeCloseTo(expected, 7);
    expect(similarity(b, a)).toBe(similarity(a, b));
  });

  test('is a float4 like pg_trgm, so thresholds decide the same way', () => {
    const s = similarity('word', 'two words');
    expect(s).toBe(Math.fround(4 / 11));
    expect(setSimilarity(new Set(['a', 'b', 'c']), new Set(['a', 'b', 'c', 'd', 'e']))).toBe(Math.fround(0.6));
  });
});
