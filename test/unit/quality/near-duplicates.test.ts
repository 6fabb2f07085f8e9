import { NearDuplicateIndex, normalizeText } from '../../../src/quality/near-duplicates';
import { mulberry32 } from './helpers';

describe('near-duplicate detection (MinHash + LSH)', () => {
  it('normalizes case, accents, punctuation and spacing', () => {
    expect(normalizeText('  Café — GREAT!!  product… ')).toBe('cafe great product');
  });

  it('finds copies that differ in case/punctuation and near copies, not distinct texts', () => {
    const idx = new NearDuplicateIndex();
    const a = idx.add('The delivery was late and the box was damaged.');
    const b = idx.add('the delivery was LATE, and the box was damaged!!');
    const c = idx.add('The delivery was late and the box was damagd.');
    const d = idx.add('Fantastic battery life, I would buy this phone again.');
    const e = idx.add('Terrible customer service; nobody answered my emails.');
    const pairs = idx.pairs();
    const keys = pairs.map((p) => `${p.a}-${p.b}`);
    expect(keys).toContain(`${a}-${b}`);
    expect(pairs.find((p) => p.a === a && p.b === b)!.similarity).toBe(1);
    expect(keys).toContain(`${a}-${c}`);
    expect(keys.some((k) => k.includes(String(d)) || k.includes(String(e)))).toBe(false);
    expect(idx.similarity(a, d)).toBeLessThan(0.3);
  });

  it('the keep filter restricts candidates (e.g. only different labels)', () => {
    const idx = new NearDuplicateIndex();
    idx.add('same text here please');
    idx.add('same text here please');
    expect(idx.pairs(() => false)).toEqual([]);
    expect(idx.pairs()).toHaveLength(1);
  });

  it('stays sub-quadratic: 50,000 random texts with 100 planted duplicates, and a 2,000-copy bucket', () => {
    const rnd = mulberry32(3);
    const letters = 'abcdefghijklmnopqrstuvwxyz';
    const words = Array.from({ length: 5000 }, () => Array.from({ length: 4 + Math.floor(rnd() * 5) }, () => letters[Math.floor(rnd() * 26)]).join(''));
    const idx = new NearDuplicateIndex();
    const texts: string[] = [];
    for (let i = 0; i < 50_000; i++) {
      const t = Array.from({ length: 12 }, () => words[Math.floor(rnd() * words.length)]).join(' ');
      texts.push(t);
      idx.add(t);
    }
    for (let i = 0; i < 100; i++) idx.add(texts[i * 97].toUpperCase() + '!');
    for (let i = 0; i < 2000; i++) idx.add('one very common boilerplate text');
    const t0 = Date.now();
    const pairs = idx.pairs();
    const planted = pairs.filter((p) => p.b >= 50_000 && p.b < 50_100);
    expect(planted).toHaveLength(100);
    for (const p of planted) expect(p.a).toBe((p.b - 50_000) * 97);
    // The big bucket is paired with its first member only: 1,999 pairs, not ~2 million.
    expect(pairs.filter((p) => p.a >= 50_100)).toHaveLength(1999);
    expect(pairs.filter((p) => p.b < 50_000)).toHaveLength(0);
    expect(Date.now() - t0).toBeLessThan(20_000);
  });
});
