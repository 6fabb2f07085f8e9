/**
 * Near-duplicate items by MinHash with locality-sensitive hashing (Broder 1997; Leskovec,
 * Rajaraman & Ullman, Mining of Massive Datasets, ch. 3). Pure.
 *
 *   text → normalized (NFKD, diacritics removed, lower case, runs of non-letters/digits → one space)
 *        → set of character 4-grams (a text shorter than 4 is its own shingle)
 *        → signature: for each of H = bands × rows hash functions, the minimum hash over the set.
 *
 * P(two signatures agree at a position) equals the Jaccard similarity J of the two shingle sets,
 * so the share of agreeing positions estimates J. LSH: two items become candidates when all
 * `rows` positions of some band agree: P = 1 − (1 − J^rows)^bands; with the defaults (8 bands ×
 * 4 rows) a pair at J = 0.8 is found with probability 0.985, at J = 0.5 it is a candidate with
 * probability 0.40 and at J = 0.3 with 0.06. Candidates are verified on the estimate (≥ threshold).
 *
 * Cost: O(total text length × H) to sign, O(items × bands) to bucket, plus the candidate pairs.
 * A bucket holding more than `maxBucket` items (many copies of one text) is not expanded into all
 * its pairs: each member is paired with the bucket's first member only, which keeps the work
 * linear and still reports every copy (pairs against a representative). Memory: H × 4 bytes per
 * item (128 bytes with the defaults).
 */
export interface NearDuplicateOptions {
  bands?: number;
  rows?: number;
  /** Estimated Jaccard similarity at or above which a candidate pair is reported; default 0.8. */
  threshold?: number;
  /** Shingle length in characters; default 4. */
  shingle?: number;
  /** Largest bucket expanded into all pairs; default 50. */
  maxBucket?: number;
}

export interface NearDuplicatePair {
  /** Indices in insertion order, a < b. */
  a: number;
  b: number;
  /** Estimated Jaccard similarity (share of agreeing signature positions). */
  similarity: number;
}

// Built from strings so that no compiler rewrites the Unicode property escapes into huge classes.
const MARKS = new RegExp('\\p{M}+', 'gu');
const NON_WORD = new RegExp('[^\\p{L}\\p{N}]+', 'gu');

export function normalizeText(text: string): string {
  return text.normalize('NFKD').replace(MARKS, '').toLowerCase().replace(NON_WORD, ' ').trim();
}

// A module-level binding: looking `Math` up on the global object in every call is slow in some hosts (jest's vm contexts).
const imul = Math.imul;

/** FNV-1a over a string's UTF-16 code units, 32-bit. */
function fnv1a(s: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit mixer (murmur3 finalizer): h_i(x) = fmix(x ^ seed_i) acts as the i-th hash function. */
function fmix(x: number): number {
  x ^= x >>> 16;
  x = imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

export class NearDuplicateIndex {
  readonly bands: number;
  readonly rows: number;
  readonly threshold: number;
  private readonly shingle: number;
  private readonly maxBucket: number;
  private readonly hashes: number;
  private readonly seeds: Uint32Array;
  private signatures: Uint32Array;
  private count = 0;

  constructor(options: NearDuplicateOptions = {}) {
    this.bands = options.bands ?? 8;
    this.rows = options.rows ?? 4;
    this.threshold = options.threshold ?? 0.8;
    this.shingle = options.shingle ?? 4;
    this.maxBucket = options.maxBucket ?? 50;
    this.hashes = this.bands * this.rows;
    this.seeds = new Uint32Array(this.hashes);
    // Fixed seeds: the same texts always give the same signatures (deterministic results).
    let s = 0x9e3779b9;
    for (let i = 0; i < this.hashes; i++) this.seeds[i] = s = fmix(s + 0x6d2b79f5 + i);
    this.signatures = new Uint32Array(1024 * this.hashes);
  }

  get size(): number {
    return this.count;
  }

  /** Adds a text; returns its index. An empty normalized text gets an all-max signature (never similar to text). */
  add(text: string): number {
    if ((this.count + 1) * this.hashes > this.signatures.length) {
      const grown = new Uint32Array(this.signatures.length * 2);
      grown.set(this.signatures);
      this.signatures = grown;
    }
    const base = this.count * this.hashes;
    const sig = this.signatures.subarray(base, base + this.hashes);
    sig.fill(0xffffffff);
    const t = normalizeText(text);
    if (t.length > 0) {
      const k = Math.min(this.shingle, t.length);
      for (let i = 0; i + k <= t.length; i++) {
        const x = fnv1a(t, i, i + k);
        for (let h = 0; h < this.hashes; h++) {
          const v = fmix(x ^ this.seeds[h]);
          if (v < sig[h]) sig[h] = v;
        }
      }
    } else {
      // Empty texts: mark with a distinct value per item so they never collide with each other.
      sig[0] = this.count;
    }
    return this.count++;
  }

  /** Estimated Jaccard similarity of two added texts. */
  similarity(a: number, b: number): number {
    const H = this.hashes;
    let same = 0;
    for (let h = 0; h < H; h++) if (this.signatures[a * H + h] === this.signatures[b * H + h]) same++;
    return same / H;
  }

  /**
   * Pairs at or above the threshold, each once, ordered by (a, b). `keep(a, b)` filters candidates
   * before verification (e.g. only items with different labels).
   */
  pairs(keep: (a: number, b: number) => boolean = () => true): NearDuplicatePair[] {
    const H = this.hashes;
    const seen = new Set<number>();
    const out: NearDuplicatePair[] = [];
    const consider = (x: number, y: number) => {
      const a = Math.min(x, y);
      const b = Math.max(x, y);
      const key = a * this.count + b; // exact for count < 2^26
      if (seen.has(key)) return;
      seen.add(key);
      if (!keep(a, b)) return;
      const similarity = this.similarity(a, b);
      if (similarity >= this.threshold) out.push({ a, b, similarity });
    };
    for (let band = 0; band < this.bands; band++) {
      const buckets = new Map<number, number[]>();
      for (let i = 0; i < this.count; i++) {
        let h = 0x811c9dc5 ^ band;
        for (let r = 0; r < this.rows; r++) {
          h ^= this.signatures[i * H + band * this.rows + r];
          h = imul(h, 0x01000193);
        }
        const key = h >>> 0;
        const bucket = buckets.get(key);
        if (bucket) bucket.push(i);
        else buckets.set(key, [i]);
      }
      for (const bucket of buckets.values()) {
        if (bucket.length < 2) continue;
        if (bucket.length > this.maxBucket) {
          for (let p = 1; p < bucket.length; p++) consider(bucket[0], bucket[p]);
        } else {
          for (let p = 0; p < bucket.length; p++) for (let q = p + 1; q < bucket.length; q++) consider(bucket[p], bucket[q]);
        }
      }
    }
    return out.sort((x, y) => x.a - y.a || x.b - y.b);
  }
}
