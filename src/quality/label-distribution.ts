import { categoryKey } from './group';
import type { LabelOrder, RatingValue } from './types';

/**
 * Counts and shares of each label among values (ratings or final labels).
 * Keys follow the label order (labels never used appear with 0), then values outside it in
 * first-seen order. Proportions are count / total (all 0 when there are no values).
 */
export interface LabelDistribution {
  total: number;
  /** The counts as an ordered list: JS objects list integer-like keys ("1", "2") first, this keeps the label order. */
  entries: [label: string, count: number][];
  counts: Record<string, number>;
  proportions: Record<string, number>;
}

export function labelDistribution(values: Iterable<RatingValue>, labels: LabelOrder = []): LabelDistribution {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, 0);
  let total = 0;
  for (const value of values) {
    const key = categoryKey(value);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    total++;
  }
  // Object.fromEntries defines own properties, so a label such as "__proto__" stays an ordinary key.
  return {
    total,
    entries: [...counts],
    counts: Object.fromEntries(counts),
    proportions: Object.fromEntries([...counts].map(([k, c]) => [k, total === 0 ? 0 : c / total])),
  };
}
