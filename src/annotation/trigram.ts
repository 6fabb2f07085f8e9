/**
 * Trigram similarity exactly as PostgreSQL's pg_trgm `similarity(a, b)` defines it, for
 * databases without the extension (embedded PGlite). Pure.
 *
 * pg_trgm: the text is split into words (runs of letters and digits; everything else
 * separates), each word is lower-cased and padded with two spaces in front and one behind,
 * and every three consecutive characters of a padded word is a trigram. The trigrams form a
 * set; similarity = |A ∩ B| / |A ∪ B|, 0 when either set is empty, returned as `real`
 * (float4). `similarity` here rounds to float4 the same way, so a threshold comparison
 * (`>=`) decides identically in SQL and in-process.
 */

const WORD = /[\p{L}\p{N}]+/gu;

/** The set of trigrams of a text, as pg_trgm's `show_trgm` lists them (unordered). */
export function trigrams(text: string): Set<string> {
  const out = new Set<string>();
  for (const match of (text ?? '').matchAll(WORD)) {
    const chars = Array.from(`  ${match[0].toLowerCase()} `);
    for (let i = 0; i + 3 <= chars.length; i++) out.add(chars[i] + chars[i + 1] + chars[i + 2]);
  }
  return out;
}

/** Similarity of two trigram sets: shared / (|a| + |b| - shared), 0 if either is empty. */
export function setSimilarity(a: Set<string>, b: Set<string>): number {
  if (a.size === 0 || b.size === 0) return 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  let shared = 0;
  for (const t of small) if (large.has(t)) shared++;
  return Math.fround(shared / (a.size + b.size - shared));
}

/** pg_trgm's `similarity(a, b)`. */
export function similarity(a: string, b: string): number {
  return setSimilarity(trigrams(a), trigrams(b));
}
