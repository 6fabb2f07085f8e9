import {
  consensusAgreement,
  fleissKappa,
  goldAccuracy,
  krippendorffAlpha,
  pairwiseCohenKappa,
  percentAgreement,
  type Rating,
} from '../../../src/quality';
import { accumulateItems, finalizeMetrics, valueCategory, type QualityItem } from '../../../src/quality/report-accumulate';
import { emptyPartial, mergePartials } from '../../../src/quality/report-partial';
import { fromCoderRows, mulberry32 } from './helpers';

const DAY = 86_400_000;

/** QualityItems from ratings (in item order), with gold labels and AI annotations. */
function itemsOf(ratings: Rating[], gold: Record<string, string> = {}, ai: Record<string, QualityItem['ai']> = {}): QualityItem[] {
  const byItem = new Map<string, QualityItem>();
  for (const r of ratings) {
    let item = byItem.get(r.itemId);
    if (!item) byItem.set(r.itemId, (item = { itemId: r.itemId, gold: gold[r.itemId] ?? null, human: [], ai: ai[r.itemId] ?? [] }));
    item.human.push({ annotatorId: r.annotatorId, value: String(r.value), at: DAY });
  }
  return [...byItem.values()];
}

function pagesOf<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

const exampleC = fromCoderRows({
  A: [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  B: [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, null],
  C: [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
  D: [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
});

describe('accumulateItems + mergePartials + finalizeMetrics', () => {
  it('Krippendorff 2011 example C in pages of 5 units: nominal alpha 0.743', () => {
    const items = itemsOf(exampleC).sort((a, b) => Number(a.itemId.slice(1)) - Number(b.itemId.slice(1)));
    const partial = pagesOf(items, 5)
      .map((page) => accumulateItems(page, { labels: [], driftWindowMs: DAY }))
      .reduce(mergePartials, emptyPartial());
    const m = finalizeMetrics(partial, []);
    expect(m.agreement.krippendorff_alpha.nominal).toBeCloseTo(0.743421, 5);
    expect(m.agreement.krippendorff_alpha.nominal!.toFixed(3)).toBe('0.743');
    expect(m.coverage.pairable_items).toBe(11);
  });

  it('equals the whole-data pure functions on random data, whatever the page size', () => {
    const labels = ['a', 'b', 'c'];
    const rnd = mulberry32(11);
    const ratings: Rating[] = [];
    const gold: Record<string, string> = {};
    for (let i = 0; i < 600; i++) {
      const truth = labels[Math.floor(rnd() * 3)];
      if (i % 7 === 0) gold[`i${i}`] = truth;
      const m = 1 + Math.floor(rnd() * 4); // 1..4 raters: missing values, varying n
      const first = Math.floor(rnd() * 6);
      for (let j = 0; j < m; j++) {
        ratings.push({ itemId: `i${i}`, annotatorId: `ann-${(first + j) % 6}`, value: rnd() < 0.7 ? truth : labels[Math.floor(rnd() * 3)] });
      }
    }
    const items = itemsOf(ratings, gold);
    const whole = finalizeMetrics(accumulateItems(items, { labels, driftWindowMs: DAY }), labels);
    expect(whole.coverage.unresolved_items).toBeGreaterThan(0); // the data has ties without gold
    for (const size of [1, 7, 100]) {
      const merged = finalizeMetrics(
        pagesOf(items, size).map((p) => accumulateItems(p, { labels, driftWindowMs: DAY })).reduce(mergePartials, emptyPartial()),
        labels,
      );
      expect(merged.agreement.krippendorff_alpha.nominal).toBeCloseTo(krippendorffAlpha(ratings, { labels })!, 10);
      expect(merged.agreement.fleiss_kappa).toBeCloseTo(fleissKappa(ratings, labels)!, 10);
      expect(merged.agreement.percent_agreement).toBeCloseTo(percentAgreement(ratings)!, 10);
      const pairs = pairwiseCohenKappa(ratings, labels);
      expect(merged.agreement.cohen_kappa.map((p) => [p.annotator_a, p.annotator_b, p.n])).toEqual(pairs.map((p) => [p.annotator_a, p.annotator_b, p.n]));
      merged.agreement.cohen_kappa.forEach((p, i) => expect(p.kappa).toBeCloseTo(pairs[i].kappa!, 10));
      const cons = consensusAgreement(ratings, { labels });
      const gacc = goldAccuracy(ratings, gold);
      expect(merged.annotators.map((a) => a.annotator_id)).toEqual(cons.map((c) => c.annotatorId));
      merged.annotators.forEach((a, i) => {
        expect(a.items).toBe(cons[i].rated);
        expect(a.agreement_with_consensus).toBeCloseTo(cons[i].agreement!, 12);
        expect(a.gold_accuracy).toBeCloseTo(gacc[i].accuracy!, 12);
      });
      expect(merged.label_distribution).toEqual(whole.label_distribution);
      expect(merged.coverage.unresolved_items).toBe(whole.coverage.unresolved_items);
    }
  });

  it('final labels: gold first, else majority, a tie unresolved; AI acceptance and accuracy per engine', () => {
    const items: QualityItem[] = [
      { itemId: 'x1', gold: 'neg', human: [{ annotatorId: 'h1', value: 'pos', at: 0 }, { annotatorId: 'h2', value: 'pos', at: 0 }], ai: [{ engineId: 'e1', value: 'neg', status: 'auto_accepted' }] },
      { itemId: 'x2', gold: null, human: [{ annotatorId: 'h1', value: 'neg', at: 0 }, { annotatorId: 'h2', value: 'pos', at: 0 }], ai: [{ engineId: 'e1', value: 'neg', status: 'rejected' }] },
      { itemId: 'x3', gold: null, human: [], ai: [{ engineId: 'e1', value: 'pos', status: 'needs_review' }, { engineId: 'e2', value: null, status: 'failed' }] },
    ];
    const m = finalizeMetrics(accumulateItems(items, { labels: ['pos', 'neg'], driftWindowMs: DAY }), ['pos', 'neg']);
    // x1 → gold neg; x2 tie → unresolved (issue 12: it used to be 'pos', the first label, which
    // gave counts {pos: 1, neg: 1}, 2 items with a final label and e1 compared 2 / accuracy 0.5);
    // x3 → no final label.
    expect(m.label_distribution.counts).toEqual({ pos: 0, neg: 1 });
    expect(m.coverage.items_with_final_label).toBe(1);
    expect(m.coverage.unresolved_items).toBe(1);
    const e1 = m.ai.engines.find((e) => e.engine_id === 'e1')!;
    expect(e1).toMatchObject({ annotations: 3, accepted: 1, rejected: 1, pending: 1, acceptance_rate: 0.5, compared: 1, accuracy_vs_final: 1 });
    expect(m.ai.engines.find((e) => e.engine_id === 'e2')).toMatchObject({ annotations: 1, failed: 1, compared: 0, accuracy_vs_final: null });
    expect(m.ai.acceptance_rate).toBe(0.5);
    expect(m.ai.accuracy_vs_final).toBe(1);
    expect(m.coverage.disagreeing_items).toBe(1);
  });

  it('samples at most sampleLimit disagreeing items (the workflow passes the room it has left)', () => {
    const items: QualityItem[] = Array.from({ length: 5 }, (_, i) => ({
      itemId: `d${i}`,
      gold: null,
      human: [{ annotatorId: 'a', value: 'x', at: 0 }, { annotatorId: 'b', value: 'y', at: 0 }],
      ai: [],
    }));
    const p = accumulateItems(items, { labels: [], driftWindowMs: DAY, sampleLimit: 2 });
    expect(p.disagreeingItems).toBe(5);
    expect(p.disagreeingSample).toEqual(['d0', 'd1']);
    expect(accumulateItems(items, { labels: [], driftWindowMs: DAY, sampleLimit: 0 }).disagreeingSample).toEqual([]);
  });

  it('no data: every metric is null', () => {
    const m = finalizeMetrics(emptyPartial(), ['a']);
    expect(m.agreement).toEqual({
      krippendorff_alpha: { nominal: null, level: 'nominal', value: null, pairable_values: 0, insufficient_data: false },
      fleiss_kappa: null,
      cohen_kappa: [],
      percent_agreement: null,
    });
    expect(m.ai).toEqual({ acceptance_rate: null, accuracy_vs_final: null, engines: [] });
  });

  it('valueCategory reads {label} and {labels} (sorted)', () => {
    expect(valueCategory({ label: 'pos' })).toBe('pos');
    expect(valueCategory({ labels: ['b', 'a'] })).toBe('a|b');
    expect(valueCategory(null)).toBeNull();
  });

  it('drift windows count leave-one-out agreement per annotator and window', () => {
    const items: QualityItem[] = [
      { itemId: 'a', gold: null, human: [{ annotatorId: 'x', value: 'p', at: 0 }, { annotatorId: 'y', value: 'p', at: 0 }, { annotatorId: 'z', value: 'p', at: 0 }], ai: [] },
      { itemId: 'b', gold: null, human: [{ annotatorId: 'x', value: 'n', at: DAY }, { annotatorId: 'y', value: 'p', at: DAY }, { annotatorId: 'z', value: 'p', at: DAY }], ai: [] },
    ];
    const p = accumulateItems(items, { labels: ['p', 'n'], driftWindowMs: DAY });
    expect(p.drift.x).toEqual({ '0': { items: 1, agreed: 1 }, '1': { items: 1, agreed: 0 } });
    // y on item b: others are x=n, z=p → tied → no consensus.
    expect(p.drift.y).toEqual({ '0': { items: 1, agreed: 1 } });
  });
});
