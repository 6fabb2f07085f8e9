import { LabelSchema } from '../../../src/api/projects/schema';
import { presentLabelDistribution, presentQualityReport } from '../../../src/api/quality/presenter';

/** The level of measurement in the label schema (POST /projects) and the report's label order. */
const issues = (v: unknown) => {
  const r = LabelSchema.safeParse(v);
  return r.success ? [] : r.error.issues.map((i) => [i.path.join('.'), i.message]);
};

describe('label_schema: ordered and scale', () => {
  it('accepts ordered labels and numeric scales on a single_label schema', () => {
    expect(issues({ type: 'single_label', labels: ['low', 'mid', 'high'], ordered: true })).toEqual([]);
    expect(issues({ type: 'single_label', labels: ['1', '2', '3', '4', '5'], scale: { type: 'interval' } })).toEqual([]);
    expect(issues({ type: 'single_label', labels: ['0', '0.5', '10'], scale: { type: 'ratio' }, ordered: true })).toEqual([]);
    expect(issues({ type: 'single_label', labels: ['-2', '-1', '0', '1'], scale: { type: 'interval' } })).toEqual([]);
    expect(LabelSchema.parse({ type: 'single_label', labels: ['a', 'b'], ordered: true })).toEqual({ type: 'single_label', labels: ['a', 'b'], ordered: true });
    // Without either field a schema stays as it was (nominal).
    expect(LabelSchema.parse({ type: 'single_label', labels: ['a', 'b'] })).toEqual({ type: 'single_label', labels: ['a', 'b'] });
  });

  it('refuses what has no level: multi_label with an order, non-numeric or unsorted scales, negative ratios, unknown scale types', () => {
    expect(issues({ type: 'multi_label', labels: ['a', 'b'], ordered: true })).toEqual([['ordered', expect.stringContaining('multi_label')]]);
    expect(issues({ type: 'multi_label', labels: ['1', '2'], scale: { type: 'interval' } })[0][0]).toBe('scale');
    expect(issues({ type: 'single_label', labels: ['1', 'two'], scale: { type: 'interval' } })).toEqual([['labels.1', 'the labels of a scale must be numbers']]);
    expect(issues({ type: 'single_label', labels: ['1', '3', '2'], scale: { type: 'interval' } })).toEqual([['labels.2', 'the labels of a scale are listed in ascending numeric order']]);
    expect(issues({ type: 'single_label', labels: ['-1', '0', '1'], scale: { type: 'ratio' } })).toEqual([['labels.0', 'a ratio scale has no negative values']]);
    expect(issues({ type: 'single_label', labels: ['1', '2'], scale: { type: 'interval' }, ordered: false })).toEqual([['ordered', 'a scale is ordered by its numbers']]);
    expect(issues({ type: 'single_label', labels: ['1', '2'], scale: { type: 'log' } })[0][0]).toBe('scale.type');
    expect(issues({ type: 'single_label', labels: ['1', '2'], scale: { type: 'interval', base: 2 } })[0][0]).toBe('scale');
    expect(issues({ type: 'single_label', labels: ['a'], ordered: 'yes' })[0][0]).toBe('ordered');
  });
});

describe('label_distribution in label order (presenter)', () => {
  const stored = { total: 3, counts: { bad: 1, good: 2, okay: 0 }, proportions: { bad: 1 / 3, good: 2 / 3, okay: 0 } };

  it('a report that predates `order` is put in the schema order, then the rest', () => {
    const d = presentLabelDistribution(stored, ['good', 'okay', 'bad', 'unused'])!;
    expect(d.order).toEqual(['good', 'okay', 'bad']);
    expect(Object.keys(d.counts)).toEqual(['good', 'okay', 'bad']);
    expect(Object.keys(d.proportions)).toEqual(['good', 'okay', 'bad']);
    expect(presentLabelDistribution({ ...stored, counts: { ...stored.counts, zzz: 0 } }, ['okay'])!.order).toEqual(['okay', 'bad', 'good', 'zzz']);
  });

  it('a stored `order` wins (jsonb sorted the keys, the order list survives)', () => {
    const d = presentQualityReport({ passed: true, label_distribution: { ...stored, order: ['okay', 'bad', 'good'] } }, ['good', 'okay', 'bad']);
    expect(Object.keys((d.label_distribution as { counts: object }).counts)).toEqual(['okay', 'bad', 'good']);
    expect(d.passed).toBe(true);
  });
});
