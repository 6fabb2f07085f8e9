import { MemoryCache } from '../../../src/llm/memory-cache';

describe('MemoryCache', () => {
  it('answers until the entry expires, and never past maxAgeMs', () => {
    const cache = new MemoryCache(10, 1000);
    cache.set('a', 'answer a', 5000, 0); // the table keeps it 5 s; memory at most 1 s
    cache.set('b', 'answer b', 500, 0);
    expect(cache.get('a', 999)).toBe('answer a');
    expect(cache.get('a', 1000)).toBeNull();
    expect(cache.get('b', 499)).toBe('answer b');
    expect(cache.get('b', 500)).toBeNull();
    expect(cache.get('missing', 0)).toBeNull();
    expect(cache.size).toBe(0); // expired entries are dropped when met
  });

  it('drops the least recently used entry when full', () => {
    const cache = new MemoryCache(2, 60_000);
    cache.set('a', '1', 10_000, 0);
    cache.set('b', '2', 10_000, 0);
    expect(cache.get('a', 1)).toBe('1'); // a is now the most recent
    cache.set('c', '3', 10_000, 2);
    expect(cache.get('b', 3)).toBeNull();
    expect(cache.get('a', 3)).toBe('1');
    expect(cache.get('c', 3)).toBe('3');
  });

  it('keeps nothing when sized 0', () => {
    const cache = new MemoryCache(0, 60_000);
    cache.set('a', '1', 10_000, 0);
    expect(cache.get('a', 1)).toBeNull();
  });
});
