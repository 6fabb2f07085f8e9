import type { Rating, RatingValue } from '../../../src/quality';

/**
 * Ratings from a reliability data matrix in Krippendorff's layout: one row per coder, one column
 * per unit, null for a missing value.
 */
export function fromCoderRows(rows: Record<string, (RatingValue | null)[]>): Rating[] {
  const ratings: Rating[] = [];
  for (const [annotatorId, values] of Object.entries(rows)) {
    values.forEach((value, u) => {
      if (value !== null) ratings.push({ itemId: `u${u + 1}`, annotatorId, value });
    });
  }
  return ratings;
}

/** Ratings from one row per item listing its values (annotators r1, r2, … by column; null = missing). */
export function fromItemRows(rows: (RatingValue | null)[][]): Rating[] {
  const ratings: Rating[] = [];
  rows.forEach((values, i) => {
    values.forEach((value, r) => {
      if (value !== null) ratings.push({ itemId: `i${i + 1}`, annotatorId: `r${r + 1}`, value });
    });
  });
  return ratings;
}

/**
 * Ratings from a subjects × categories count table (Fleiss' layout): row i puts `counts[i][j]`
 * anonymous raters on category `labels[j]`; raters are numbered per item.
 */
export function fromCountRows(counts: number[][], labels: string[]): Rating[] {
  const ratings: Rating[] = [];
  counts.forEach((row, i) => {
    let r = 0;
    row.forEach((n, j) => {
      for (let t = 0; t < n; t++) ratings.push({ itemId: `s${i + 1}`, annotatorId: `r${++r}`, value: labels[j] });
    });
  });
  return ratings;
}

/** Parallel label sequences from a 2-rater contingency table (rows rater A, columns rater B). */
export function fromContingency(table: number[][], labels: RatingValue[]): { a: RatingValue[]; b: RatingValue[] } {
  const a: RatingValue[] = [];
  const b: RatingValue[] = [];
  table.forEach((row, i) => row.forEach((n, j) => {
    for (let t = 0; t < n; t++) {
      a.push(labels[i]);
      b.push(labels[j]);
    }
  }));
  return { a, b };
}

/** Deterministic PRNG (mulberry32) for synthetic data. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
