import { kappaOfTable } from './cohen-kappa';
import { consensusAgreement } from './consensus-agreement';
import { windowOf } from './drift';
import { goldAccuracy } from './gold-accuracy';
import { krippendorffAlphaDetailed } from './krippendorff-alpha';
import { labelDistribution } from './label-distribution';
import { finalLabelOf } from './final-label';
import { majorityVote } from './majority-vote';
import { emptyPartial, SAMPLE_LIMIT, SEP, type QualityPartial } from './report-partial';
import type { LabelOrder, Rating } from './types';

/**
 * Quality metrics computed a page of items at a time (see `report-partial.ts`).
 *
 * `accumulateItems` turns a page of complete items (every rating of an item is in the same page)
 * into a partial: Krippendorff coincidences from `krippendorffAlphaDetailed`, consensus agreement
 * from `consensusAgreement` (leave-one-out), gold accuracy from `goldAccuracy`, final labels from
 * `finalLabelOf` (gold, else majority; a tie is unresolved); Fleiss sums and Cohen pair tables are
 * counted directly. `finalizeMetrics` turns the summed partials into the statistics, which equal
 * what `krippendorffAlpha`, `fleissKappa`, `percentAgreement`, `pairwiseCohenKappa`,
 * `consensusAgreement` and `goldAccuracy` give on all ratings at once (tested).
 *
 * What is measured:
 * - agreement (alpha, Fleiss, Cohen, percent) over HUMAN annotations only, one per (item,
 *   annotator), the latest; AI annotations are measured against the final labels instead (an
 *   engine that labels everything would otherwise count as one more annotator and inflate agreement);
 * - the final label of an item is its gold label if it has one, else the majority of its human
 *   annotations (`finalLabelOf`); a majority tie is unresolved: no final label, counted in
 *   `coverage.unresolved_items`; items with neither have no final label;
 * - AI acceptance: of the AI annotations a decision was taken on (accepted: auto_accepted,
 *   accepted, approved; rejected: rejected, modified, corrected, overridden), the share accepted;
 *   needs_review and other statuses are pending; failed ones are counted apart (the validation
 *   activity adds the feedback on live suggestions, accept vs reject/modify, to the same counts);
 * - AI accuracy vs final: share of AI labels equal to the item's final label;
 * - label values are category keys: `{label}` → the label, `{labels}` → the sorted labels joined by "|".
 */
export interface QualityItem {
  itemId: string;
  /** Gold label as a category key, or null. */
  gold: string | null;
  /** One per annotator (the latest), value as a category key; `at` = annotation time, epoch ms. */
  human: { annotatorId: string; value: string; at: number }[];
  /** One per engine; value null for a failed annotation. */
  ai: { engineId: string; value: string | null; status: string }[];
}

export const AI_ACCEPTED = ['auto_accepted', 'accepted', 'approved'];
export const AI_REJECTED = ['rejected', 'modified', 'corrected', 'overridden'];

/** The category key of an annotation value ({label} or {labels}); null when there is none. */
export function valueCategory(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  if (typeof value !== 'object') return null;
  const v = value as { label?: unknown; labels?: unknown };
  if (typeof v.label === 'string' || typeof v.label === 'number') return String(v.label);
  if (Array.isArray(v.labels)) return v.labels.map(String).sort().join('|');
  return null;
}

export interface AccumulateOptions {
  labels: LabelOrder;
  /** Length of a drift window in ms. */
  driftWindowMs: number;
  /** Most disagreeing item ids to sample (default SAMPLE_LIMIT); the caller passes what it still has room for. */
  sampleLimit?: number;
}

export function accumulateItems(items: readonly QualityItem[], options: AccumulateOptions): QualityPartial {
  const p = emptyPartial();
  const { labels } = options;
  const sampleLimit = Math.min(options.sampleLimit ?? SAMPLE_LIMIT, SAMPLE_LIMIT);
  const ratings: Rating[] = [];
  const gold: Record<string, string> = {};
  for (const item of items) {
    p.items++;
    if (item.gold !== null) gold[item.itemId] = item.gold;
    if (item.human.length > 0) p.itemsWithHuman++;
    for (const h of item.human) ratings.push({ itemId: item.itemId, annotatorId: h.annotatorId, value: h.value });
  }
  p.humanRatings = ratings.length;

  // Krippendorff coincidences (nominal; they are metric-free, so the same matrix serves every metric).
  const alpha = krippendorffAlphaDetailed(ratings, { metric: 'nominal', labels });
  alpha.categories.forEach((c, i) => {
    alpha.coincidences[i].forEach((v, j) => {
      if (v !== 0) (p.coincidences[c] ??= {})[alpha.categories[j]] = v;
    });
  });

  for (const c of consensusAgreement(ratings, { labels })) {
    const a = annotator(p, c.annotatorId);
    a.rated += c.rated;
    a.consensusItems += c.items;
    a.consensusAgreed += c.agreed;
  }
  for (const g of goldAccuracy(ratings, gold)) {
    const a = annotator(p, g.annotatorId);
    a.goldItems += g.items;
    a.goldCorrect += g.correct;
  }
  const majority = majorityVote(ratings, labels);

  for (const item of items) {
    const m = item.human.length;
    // Fleiss / percent agreement.
    if (m >= 2) {
      const counts = new Map<string, number>();
      for (const h of item.human) counts.set(h.value, (counts.get(h.value) ?? 0) + 1);
      let agreeing = 0;
      for (const n of counts.values()) agreeing += n * (n - 1);
      p.fleiss.sumP += agreeing / (m * (m - 1));
      p.fleiss.items++;
      for (const [c, n] of counts) p.fleiss.totals[c] = (p.fleiss.totals[c] ?? 0) + n;
      if (p.fleiss.raters === -1) p.fleiss.raters = m;
      else if (p.fleiss.raters !== m) p.fleiss.fixed = false;
      if (counts.size > 1) {
        p.disagreeingItems++;
        if (p.disagreeingSample.length < sampleLimit) p.disagreeingSample.push(item.itemId);
      }
      // Cohen pair tables, oriented by annotator id.
      for (let x = 0; x < m; x++) {
        for (let y = x + 1; y < m; y++) {
          let [a, b] = [item.human[x], item.human[y]];
          if (a.annotatorId === b.annotatorId) continue;
          if (b.annotatorId < a.annotatorId) [a, b] = [b, a];
          const table = (p.pairs[a.annotatorId + SEP + b.annotatorId] ??= {});
          const cell = a.value + SEP + b.value;
          table[cell] = (table[cell] ?? 0) + 1;
        }
      }
      // Drift: leave-one-out consensus of the others, per annotator and time window.
      for (const h of item.human) {
        counts.set(h.value, counts.get(h.value)! - 1);
        let best: string | null = null;
        let bestVotes = 0;
        let tied = false;
        for (const [c, n] of counts) {
          if (n > bestVotes) {
            best = c;
            bestVotes = n;
            tied = false;
          } else if (n === bestVotes && n > 0) tied = true;
        }
        counts.set(h.value, counts.get(h.value)! + 1);
        if (best === null || tied) continue;
        const w = String(windowOf(h.at, options.driftWindowMs));
        const cell = ((p.drift[h.annotatorId] ??= {})[w] ??= { items: 0, agreed: 0 });
        cell.items++;
        if (best === h.value) cell.agreed++;
      }
    }
    for (const h of item.human) {
      const a = annotator(p, h.annotatorId);
      if (h.at > a.lastAt) a.lastAt = h.at;
    }

    const decided = finalLabelOf(item.gold, majority.get(item.itemId));
    if (decided?.status === 'unresolved') p.itemsUnresolved = (p.itemsUnresolved ?? 0) + 1;
    const final = decided?.label ?? null;
    if (final !== null) {
      p.itemsWithFinal++;
      p.finalLabels[final] = (p.finalLabels[final] ?? 0) + 1;
    }
    for (const ai of item.ai) {
      const e = (p.engines[ai.engineId] ??= { annotations: 0, failed: 0, accepted: 0, rejected: 0, pending: 0, confusion: {} });
      e.annotations++;
      if (ai.value === null || ai.status === 'failed') {
        e.failed++;
        continue;
      }
      if (AI_ACCEPTED.includes(ai.status)) e.accepted++;
      else if (AI_REJECTED.includes(ai.status)) e.rejected++;
      else e.pending++;
      if (final !== null) {
        const cell = ai.value + SEP + final;
        e.confusion[cell] = (e.confusion[cell] ?? 0) + 1;
      }
    }
  }
  return p;
}

function annotator(p: QualityPartial, id: string) {
  return (p.annotators[id] ??= { rated: 0, consensusItems: 0, consensusAgreed: 0, goldItems: 0, goldCorrect: 0, lastAt: 0 });
}

/** The statistics of summed partials. */
export interface QualityMetrics {
  agreement: {
    krippendorff_alpha: { nominal: number | null };
    fleiss_kappa: number | null;
    cohen_kappa: { annotator_a: string; annotator_b: string; kappa: number | null; n: number }[];
    percent_agreement: number | null;
  };
  annotators: {
    annotator_id: string;
    items: number;
    gold_accuracy: number | null;
    agreement_with_consensus: number | null;
    gold_items: number;
    consensus_items: number;
    last_annotated_at: string | null;
  }[];
  ai: {
    acceptance_rate: number | null;
    accuracy_vs_final: number | null;
    engines: {
      engine_id: string;
      annotations: number;
      failed: number;
      accepted: number;
      rejected: number;
      pending: number;
      acceptance_rate: number | null;
      compared: number;
      accuracy_vs_final: number | null;
    }[];
  };
  label_distribution: { total: number; counts: Record<string, number>; proportions: Record<string, number> };
  coverage: {
    items: number;
    items_with_human: number;
    human_ratings: number;
    pairable_items: number;
    items_with_final_label: number;
    /** Items whose human majority is a tie and that have no gold label: no final label until someone settles them. */
    unresolved_items: number;
    disagreeing_items: number;
  };
}

const ratio = (a: number, b: number) => (b === 0 ? null : a / b);

/** Nominal alpha from a coincidence matrix (Krippendorff 2011): 1 − (n − 1) Σ_{c≠k} o_ck / Σ_{c≠k} n_c n_k. */
export function nominalAlphaFromCoincidences(o: Record<string, Record<string, number>>): number | null {
  const categories = [...new Set([...Object.keys(o), ...Object.values(o).flatMap((row) => Object.keys(row))])];
  const marg = new Map<string, number>();
  let n = 0;
  let disagree = 0;
  for (const c of categories) {
    let s = 0;
    for (const [k, v] of Object.entries(o[c] ?? {})) {
      s += v;
      if (k !== c) disagree += v;
    }
    marg.set(c, s);
    n += s;
  }
  if (n < 2) return null;
  let sumSq = 0;
  for (const s of marg.values()) sumSq += s * s;
  const expected = n * n - sumSq; // Σ_{c≠k} n_c n_k
  const De = expected / (n * (n - 1));
  if (De === 0) return null;
  return 1 - disagree / n / De;
}

export function finalizeMetrics(p: QualityPartial, labels: LabelOrder): QualityMetrics {
  // Fleiss.
  let fleiss: number | null = null;
  let percent: number | null = null;
  if (p.fleiss.items > 0) {
    const observed = p.fleiss.sumP / p.fleiss.items;
    percent = observed;
    const total = Object.values(p.fleiss.totals).reduce((s, v) => s + v, 0);
    const expected = Object.values(p.fleiss.totals).reduce((s, v) => s + (v / total) ** 2, 0);
    fleiss = expected >= 1 - 1e-12 ? null : (observed - expected) / (1 - expected);
  }

  // Cohen per pair, unweighted.
  const cohen = Object.keys(p.pairs)
    .sort()
    .map((key) => {
      const [a, b] = key.split(SEP);
      const cells = Object.entries(p.pairs[key]).map(([cell, n]) => [...cell.split(SEP), n] as [string, string, number]);
      const cats = [...new Set(cells.flatMap(([x, y]) => [x, y]))];
      const index = new Map(cats.map((c, i) => [c, i]));
      const k = cats.length;
      const table = new Float64Array(k * k);
      let n = 0;
      for (const [x, y, v] of cells) {
        table[index.get(x)! * k + index.get(y)!] += v;
        n += v;
      }
      return { annotator_a: a, annotator_b: b, kappa: kappaOfTable(table, k, 'none'), n };
    });

  const annotators = Object.keys(p.annotators)
    .sort()
    .map((id) => {
      const a = p.annotators[id];
      return {
        annotator_id: id,
        items: a.rated,
        gold_accuracy: ratio(a.goldCorrect, a.goldItems),
        agreement_with_consensus: ratio(a.consensusAgreed, a.consensusItems),
        gold_items: a.goldItems,
        consensus_items: a.consensusItems,
        last_annotated_at: a.lastAt > 0 ? new Date(a.lastAt).toISOString() : null,
      };
    });

  let accepted = 0;
  let decided = 0;
  let compared = 0;
  let correct = 0;
  const engines = Object.keys(p.engines)
    .sort()
    .map((id) => {
      const e = p.engines[id];
      let c = 0;
      let ok = 0;
      for (const [cell, n] of Object.entries(e.confusion)) {
        const [ai, final] = cell.split(SEP);
        c += n;
        if (ai === final) ok += n;
      }
      accepted += e.accepted;
      decided += e.accepted + e.rejected;
      compared += c;
      correct += ok;
      return {
        engine_id: id,
        annotations: e.annotations,
        failed: e.failed,
        accepted: e.accepted,
        rejected: e.rejected,
        pending: e.pending,
        acceptance_rate: ratio(e.accepted, e.accepted + e.rejected),
        compared: c,
        accuracy_vs_final: ratio(ok, c),
      };
    });

  const dist = labelDistribution(expand(p.finalLabels), labels);
  return {
    agreement: {
      krippendorff_alpha: { nominal: nominalAlphaFromCoincidences(p.coincidences) },
      fleiss_kappa: fleiss,
      cohen_kappa: cohen,
      percent_agreement: percent,
    },
    annotators,
    ai: { acceptance_rate: ratio(accepted, decided), accuracy_vs_final: ratio(correct, compared), engines },
    label_distribution: { total: dist.total, counts: dist.counts, proportions: dist.proportions },
    coverage: {
      items: p.items,
      items_with_human: p.itemsWithHuman,
      human_ratings: p.humanRatings,
      pairable_items: p.fleiss.items,
      items_with_final_label: p.itemsWithFinal,
      unresolved_items: p.itemsUnresolved ?? 0,
      disagreeing_items: p.disagreeingItems,
    },
  };
}

function* expand(counts: Record<string, number>): Generator<string> {
  for (const [label, n] of Object.entries(counts)) for (let i = 0; i < n; i++) yield label;
}
