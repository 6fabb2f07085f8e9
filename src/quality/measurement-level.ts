import type { AlphaMetric } from './types';

/**
 * A project's level of measurement, read from its stored label schema (the API validates it:
 * src/api/projects/schema.ts). Nominal unless the schema says more: `scale: {type}` → interval
 * or ratio, `ordered: true` → ordinal. A multi_label schema is always nominal (a set of labels has
 * no rank). Read defensively: the column is jsonb and older rows have neither field.
 */
export type MeasurementLevel = AlphaMetric;

/** Weakest to strongest; each level also admits the weaker ones' statistics. */
export const MEASUREMENT_LEVELS: readonly MeasurementLevel[] = ['nominal', 'ordinal', 'interval', 'ratio'];

export function measurementLevel(labelSchema: unknown): MeasurementLevel {
  if (!labelSchema || typeof labelSchema !== 'object') return 'nominal';
  const s = labelSchema as { type?: unknown; ordered?: unknown; scale?: unknown };
  if (s.type === 'multi_label') return 'nominal';
  const scale = s.scale && typeof s.scale === 'object' ? (s.scale as { type?: unknown }).type : undefined;
  if (scale === 'interval' || scale === 'ratio') return scale;
  return s.ordered === true ? 'ordinal' : 'nominal';
}

/** The levels a report gives α at: nominal always, then every level up to the schema's. */
export function levelsUpTo(level: MeasurementLevel): MeasurementLevel[] {
  return MEASUREMENT_LEVELS.slice(0, MEASUREMENT_LEVELS.indexOf(level) + 1);
}

/** Whether the level orders its labels (weighted kappa needs an order). */
export function isOrderedLevel(level: MeasurementLevel): boolean {
  return level !== 'nominal';
}
