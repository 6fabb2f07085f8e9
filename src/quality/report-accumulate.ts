import { consensusAgreement } from './consensus-agreement';
import { windowOf } from './drift';
import { goldAccuracy } from './gold-accuracy';
import { krippendorffAlphaDetailed } from './krippendorff-alpha';
import { finalLabelOf, type FinalSource } from './final-label';
import { majorityVote } from './majority-vote';
import { emptyPartial, SAMPLE_LIMIT, SEP, type QualityPartial } from './report-partial';
import type { LabelOrder, Rating } from './types';
import { valueCategory } from './value-category';

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
 * - the final label of an item is its row of `final_labels` (expert resolution > gold > automatic
 *   resolution > consensus of humans > auto-accepted AI, `decideFinalLabel`); pure callers without
 *   the table get gold, else the majority of the human annotations (`finalLabelOf`); a tie is
 *   unresolved: no final label, counted in `coverage.unresolved_items`;
 * - AI acceptance: of the AI annotations a decision was taken on (accepted: auto_accepted,
 *   accepted, approved; rejected: rejected, modified, corrected, overridden), the share accepted;
 *   needs_review and other statuses are pending; failed ones are counted apart (the validation
 *   activity adds the feedback on live suggestions, accept vs reject/modify, to the same counts);
 * - AI accuracy vs final: share of AI labels equal to the item's final label, where that label was
 *   decided by something other than an AI (an AI-only final label would be compared with itself);
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
  /**
   * The item's row of `final_labels` as validation read it (null: no row, nothing decides it).
   * Absent (pure callers): the final label is computed from gold and the human ratings alone.
   */
  final?: { status: 'labelled' | 'unresolved'; label: string | null; source: FinalSource } | null;
}

export const AI_ACCEPTED = ['auto_accepted', 'accepted', 'approved'];
export const AI_REJECTED = ['rejected', 'modified', 'corrected', 'overridden'];

export { valueCategory } from './value-category';

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

    const decided = item.final !== undefined ? item.final : finalLabelOf(item.gold, majority.get(item.itemId));
    if (decided?.status === 'unresolved') p.itemsUnresolved = (p.itemsUnresolved ?? 0) + 1;
    const final = decided?.label ?? null;
    if (decided && final !== null) {
      p.itemsWithFinal++;
      p.finalLabels[final] = (p.finalLabels[final] ?? 0) + 1;
      const sources = (p.finalSources ??= {});
      sources[decided.source] = (sources[decided.source] ?? 0) + 1;
    }
    // An AI label that is itself the final label (nothing else decided the item) says nothing of
    // the AI's accuracy: only finals decided by someone or something else are compared.
    const reference = decided?.source === 'ai' ? null : final;
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
      if (reference !== null) {
        const cell = ai.value + SEP + reference;
        e.confusion[cell] = (e.confusion[cell] ?? 0) + 1;
      }
    }
  }
  return p;
}

function annotator(p: QualityPartial, id: string) {
  return (p.annotators[id] ??= { rated: 0, consensusItems: 0, consensusAgreed: 0, goldItems: 0, goldCorrect: 0, lastAt: 0 });
}

export {
  finalizeMetrics,
  nominalAlphaFromCoincidences,
  type AlphaReport,
  type CohenKappaRow,
  type FinalizeOptions,
  type MetricEvidenceReport,
  type QualityMetrics,
} from './report-finalize';
