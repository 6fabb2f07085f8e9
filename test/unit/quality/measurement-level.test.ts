import { krippendorffAlpha, pairwiseCohenKappa, type Rating } from '../../../src/quality';
import { alphaFromCoincidences } from '../../../src/quality/krippendorff-alpha';
import { levelsUpTo, measurementLevel } from '../../../src/quality/measurement-level';
import { DEFAULT_QUALITY_THRESHOLDS, evaluateThresholds, resolveQualityThresholds } from '../../../src/quality/quality-thresholds';
import { accumulateItems, finalizeMetrics, type QualityItem } from '../../../src/quality/report-accumulate';
import { emptyPartial, mergePartials } from '../../../src/quality/report-partial';
import { fromCoderRows, mulberry32 } from './helpers';

/**
 * The level of measurement from the label schema through the paged report: α at the schema's
 * level from the summed coincidences, weighted κ beside the unweighted one, thresholds judged at
 * the level, the evidence rule, and the label distribution's order.
 */
const DAY = 86_400_000;
const SCALE = ['1', '2', '3', '4', '5'];

function itemsOf(ratings: Rating[]): QualityItem[] {
  const byItem = new Map<string, QualityItem>();
  for (const r of ratings) {
    let item = byItem.get(r.itemId);
    if (!item) byItem.set(r.itemId, (item = { itemId: r.itemId, gold: null, human: [], ai: [] }));
    item.human.push({ annotatorId: r.annotatorId, value: String(r.value), at: DAY });
  }
  return [...byItem.values()];
}

function pagedPartial(items: QualityItem[], labels: string[], size: number) {
  const pages: QualityItem[][] = [];
  for (let i = 0; i < items.length; i += size) pages.push(items.slice(i, i + size));
  return pages.map((p) => accumulateItems(p, { labels, driftWindowMs: DAY })).reduce(mergePartials, emptyPartial());
}

// Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability", example C (4 observers × 12 units).
const exampleC = fromCoderRows({
  A: [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  B: [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, null],
  C: [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
  D: [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
});

/** Ratings on a 1..5 scale: each annotator's value is the truth moved by −1, 0 or +1 (clamped). */
function noisyScale(items: number, annotators: number, seed: number): Rating[] {
  const rnd = mulberry32(seed);
  const ratings: Rating[] = [];
  for (let i = 0; i < items; i++) {
    const truth = 1 + Math.floor(rnd() * 5);
    for (let a = 0; a < annotators; a++) {
      const v = Math.min(5, Math.max(1, truth + (rnd() < 0.35 ? (rnd() < 0.5 ? -1 : 1) : 0)));
      ratings.push({ itemId: `i${i}`, annotatorId: `ann-${a}`, value: String(v) });
    }
  }
  return ratings;
}

describe('measurementLevel (the stored label schema)', () => {
  it('nominal unless the schema says ordered or a scale; multi_label stays nominal', () => {
    expect(measurementLevel({ type: 'single_label', labels: ['a', 'b'] })).toBe('nominal');
    expect(measurementLevel({ type: 'single_label', labels: ['lo', 'hi'], ordered: true })).toBe('ordinal');
    expect(measurementLevel({ type: 'single_label', labels: SCALE, scale: { type: 'interval' } })).toBe('interval');
    expect(measurementLevel({ type: 'single_label', labels: SCALE, scale: { type: 'ratio' }, ordered: true })).toBe('ratio');
    expect(measurementLevel({ type: 'multi_label', labels: ['a', 'b'], ordered: true })).toBe('nominal');
    expect(measurementLevel(null)).toBe('nominal');
    expect(measurementLevel({ type: 'single_label', ordered: 'yes', scale: { type: 'log' } })).toBe('nominal');
    expect(levelsUpTo('interval')).toEqual(['nominal', 'ordinal', 'interval']);
  });
});

describe('alphaFromCoincidences: the paged report gives α at every level', () => {
  it('Krippendorff 2011 example C, in pages of 5 units: nominal 0.743, ordinal 0.815, interval 0.849, ratio 0.797', () => {
    const p = pagedPartial(itemsOf(exampleC), SCALE, 5);
    expect(alphaFromCoincidences(p.coincidences, 'nominal', SCALE).alpha).toBeCloseTo(0.743421, 5);
    expect(alphaFromCoincidences(p.coincidences, 'ordinal', SCALE).alpha).toBeCloseTo(0.8153875, 6);
    expect(alphaFromCoincidences(p.coincidences, 'interval', SCALE).alpha).toBeCloseTo(0.849107, 5);
    expect(alphaFromCoincidences(p.coincidences, 'ratio', SCALE).alpha).toBeCloseTo(0.7974028, 6);
    expect(alphaFromCoincidences(p.coincidences, 'ordinal', SCALE).pairableValues).toBe(40);
  });

  it('equals krippendorffAlpha on all ratings at once, for every level and page size', () => {
    const ratings = noisyScale(300, 3, 5);
    for (const size of [1, 13, 300]) {
      const p = pagedPartial(itemsOf(ratings), SCALE, size);
      for (const metric of ['nominal', 'ordinal', 'interval', 'ratio'] as const) {
        expect(alphaFromCoincidences(p.coincidences, metric, SCALE).alpha).toBeCloseTo(krippendorffAlpha(ratings, { metric, labels: SCALE })!, 10);
      }
    }
  });

  it('ordinal ranks follow the label order, not the spelling', () => {
    const words = ['never', 'rarely', 'sometimes', 'often', 'always'];
    const ratings = noisyScale(200, 3, 9).map((r) => ({ ...r, value: words[Number(r.value) - 1] }));
    const p = pagedPartial(itemsOf(ratings), words, 50);
    expect(alphaFromCoincidences(p.coincidences, 'ordinal', words).alpha).toBeCloseTo(krippendorffAlpha(ratings, { metric: 'ordinal', labels: words })!, 10);
  });
});

describe('finalizeMetrics at the schema level', () => {
  const ratings = noisyScale(400, 3, 21);
  const partial = pagedPartial(itemsOf(ratings), SCALE, 100);

  it('near-miss ratings on an ordered scale: nominal α is low, ordinal α high; the thresholds judge the level', () => {
    const nominal = finalizeMetrics(partial, SCALE);
    const ordinal = finalizeMetrics(partial, SCALE, { level: 'ordinal', minPairableValues: 20 });
    expect(nominal.agreement.krippendorff_alpha.level).toBe('nominal');
    expect(nominal.agreement.krippendorff_alpha.ordinal).toBeUndefined();
    expect(ordinal.agreement.krippendorff_alpha.nominal).toBeCloseTo(nominal.agreement.krippendorff_alpha.nominal!, 12);
    expect(ordinal.agreement.krippendorff_alpha.value).toBe(ordinal.agreement.krippendorff_alpha.ordinal);
    expect(ordinal.agreement.krippendorff_alpha.nominal!).toBeLessThan(0.667);
    expect(ordinal.agreement.krippendorff_alpha.ordinal!).toBeGreaterThan(0.8);
    expect(ordinal.agreement.krippendorff_alpha).toMatchObject({ pairable_values: 1200, insufficient_data: false });
    const t = DEFAULT_QUALITY_THRESHOLDS;
    expect(evaluateThresholds({ krippendorff_alpha: nominal.agreement.krippendorff_alpha.value }, t).map((a) => a.severity)).toEqual(['alert']);
    expect(evaluateThresholds({ krippendorff_alpha: ordinal.agreement.krippendorff_alpha.value }, t)).toEqual([]);
  });

  it('an interval scale reports nominal, ordinal and interval α; ratio adds ratio', () => {
    const interval = finalizeMetrics(partial, SCALE, { level: 'interval' }).agreement.krippendorff_alpha;
    expect(Object.keys(interval).filter((k) => ['nominal', 'ordinal', 'interval', 'ratio'].includes(k))).toEqual(['nominal', 'ordinal', 'interval']);
    expect(interval.value).toBeCloseTo(krippendorffAlpha(ratings, { metric: 'interval', labels: SCALE })!, 10);
    const ratio = finalizeMetrics(partial, SCALE, { level: 'ratio' }).agreement.krippendorff_alpha;
    expect(ratio.value).toBeCloseTo(krippendorffAlpha(ratings, { metric: 'ratio', labels: SCALE })!, 10);
  });

  it('weighted Cohen κ (linear, quadratic) beside the unweighted one for an ordered schema, equal to pairwiseCohenKappa', () => {
    const m = finalizeMetrics(partial, SCALE, { level: 'ordinal' });
    const linear = pairwiseCohenKappa(ratings, SCALE, { weights: 'linear' });
    const quadratic = pairwiseCohenKappa(ratings, SCALE, { weights: 'quadratic' });
    expect(m.agreement.cohen_kappa).toHaveLength(3);
    m.agreement.cohen_kappa.forEach((row, i) => {
      expect([row.annotator_a, row.annotator_b]).toEqual([linear[i].annotator_a, linear[i].annotator_b]);
      expect(row.kappa_linear).toBeCloseTo(linear[i].kappa!, 10);
      expect(row.kappa_quadratic).toBeCloseTo(quadratic[i].kappa!, 10);
      expect(row.kappa_quadratic!).toBeGreaterThan(row.kappa!);
    });
    // A nominal schema has no order to weigh by: no weighted columns.
    expect(finalizeMetrics(partial, SCALE).agreement.cohen_kappa[0]).not.toHaveProperty('kappa_linear');
  });
});

describe('alerts need evidence', () => {
  it('one pairable item: α is reported with insufficient_data and raises no alert', () => {
    const items: QualityItem[] = [
      { itemId: 'x', gold: null, human: [{ annotatorId: 'a', value: 'pos', at: 0 }, { annotatorId: 'b', value: 'neg', at: 0 }, { annotatorId: 'c', value: 'neg', at: 0 }], ai: [] },
      { itemId: 'y', gold: null, human: [{ annotatorId: 'a', value: 'neg', at: 0 }], ai: [] },
    ];
    const t = resolveQualityThresholds({});
    const m = finalizeMetrics(accumulateItems(items, { labels: ['pos', 'neg'], driftWindowMs: DAY }), ['pos', 'neg'], { minPairableValues: t.min_pairable_values });
    expect(m.agreement.krippendorff_alpha).toMatchObject({ level: 'nominal', pairable_values: 3, insufficient_data: true });
    expect(m.agreement.krippendorff_alpha.value).toBeLessThan(0.667);
    expect(m.evidence.metrics.krippendorff_alpha).toEqual({ values: 3, insufficient_data: true });
    expect(m.evidence.metrics.fleiss_kappa).toEqual({ values: 3, insufficient_data: true });
    expect(m.agreement.cohen_kappa.every((r) => r.insufficient_data)).toBe(true);
    const values = { krippendorff_alpha: m.agreement.krippendorff_alpha.value, percent_agreement: m.agreement.percent_agreement };
    const evidence = { krippendorff_alpha: 3, percent_agreement: 3 };
    expect(evaluateThresholds(values, t, evidence)).toEqual([]);
    // Without the evidence rule the same values would alert.
    expect(evaluateThresholds(values, t).map((a) => a.metric)).toEqual(['krippendorff_alpha']);
  });

  it('min_pairable_values: default 20, a project may set it (0 turns the rule off); junk is ignored', () => {
    expect(DEFAULT_QUALITY_THRESHOLDS.min_pairable_values).toBe(20);
    expect(resolveQualityThresholds({ quality_thresholds: { min_pairable_values: 50 } }).min_pairable_values).toBe(50);
    expect(resolveQualityThresholds({ routing: { quality_thresholds: { min_pairable_values: 0 } } }).min_pairable_values).toBe(0);
    expect(resolveQualityThresholds({ quality_thresholds: { min_pairable_values: -3 } }).min_pairable_values).toBe(20);
    expect(resolveQualityThresholds({ quality_thresholds: { min_pairable_values: 'x' } }).min_pairable_values).toBe(20);
    const t = resolveQualityThresholds({ quality_thresholds: { min_pairable_values: 0 } });
    expect(evaluateThresholds({ krippendorff_alpha: 0 }, t, { krippendorff_alpha: 2 })).toHaveLength(1);
    expect(evaluateThresholds({ krippendorff_alpha: 0 }, DEFAULT_QUALITY_THRESHOLDS, { krippendorff_alpha: 20 })).toHaveLength(1);
    expect(evaluateThresholds({ krippendorff_alpha: 0 }, DEFAULT_QUALITY_THRESHOLDS, { krippendorff_alpha: 19 })).toEqual([]);
    // The deployment's default (QUALITY_MIN_PAIRABLE_VALUES) sits under the project's own value.
    const deployment = { ...DEFAULT_QUALITY_THRESHOLDS, min_pairable_values: 100 };
    expect(resolveQualityThresholds({}, deployment).min_pairable_values).toBe(100);
    expect(resolveQualityThresholds({ quality_thresholds: { min_pairable_values: 5 } }, deployment).min_pairable_values).toBe(5);
  });
});

describe('label_distribution in label order', () => {
  it('order lists the schema labels first, in their order, then values outside it', () => {
    const labels = ['5', '4', '3', '2', '1'];
    const items: QualityItem[] = ['1', '3', '3', 'x'].map((v, i) => ({ itemId: `i${i}`, gold: v, human: [], ai: [] }));
    const d = finalizeMetrics(accumulateItems(items, { labels, driftWindowMs: DAY }), labels).label_distribution;
    expect(d.order).toEqual(['5', '4', '3', '2', '1', 'x']);
    expect(d.counts).toEqual({ '5': 0, '4': 0, '3': 2, '2': 0, '1': 1, x: 1 });
  });
});
