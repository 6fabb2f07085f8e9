/**
 * Common input shapes for the quality-science modules.
 *
 * Every module here is pure (no I/O): callers load ratings from the database and pass them in.
 */

/** A value an annotator gave an item. Numbers and strings compare by `String(value)`, so `3` and `"3"` are one category. */
export type RatingValue = string | number;

/** One annotator's judgement of one item. */
export interface Rating {
  itemId: string;
  annotatorId: string;
  value: RatingValue;
}

/**
 * The project's label order (its label schema). It fixes category order for weighted kappa,
 * ordinal alpha and Dawid–Skene output, and it breaks majority-vote ties (first label wins).
 */
export type LabelOrder = readonly string[];

/** Disagreement weights for Cohen's kappa over the label order. */
export type KappaWeights = 'none' | 'linear' | 'quadratic';

/** Krippendorff's difference functions (levels of measurement). */
export type AlphaMetric = 'nominal' | 'ordinal' | 'interval' | 'ratio';
