/**
 * The mergeable state of a quality computation: every field is a sum over items, so a report over
 * 100,000 items is computed page by page (each page in its own activity), the pages' partials are
 * added up (in the workflow), and the finished sums give exactly the statistics a single pass over
 * all ratings would (see `report-accumulate.ts`, whose tests check that equality).
 *
 * Plain JSON (no Maps, no typed arrays): partials travel as activity results. Pure, no imports, so
 * workflow code may use `mergePartials`.
 *
 * Size: O(k² × annotator pairs + annotators × windows + engines × k²) for k labels: independent of
 * the number of items.
 */
export interface QualityPartial {
  /** Items seen. */
  items: number;
  /** Items with at least one human rating. */
  itemsWithHuman: number;
  /** Human ratings (after one-per-annotator-and-item). */
  humanRatings: number;
  /** Items with a final label (`final_labels`, or gold else majority for pure callers). */
  itemsWithFinal: number;
  /** Items whose human majority is a tie (no gold): unresolved, no final label. Optional: partials recorded before it existed lack it. */
  itemsUnresolved?: number;
  /** Items with a final label per source (expert, gold, auto, consensus, ai). Optional: older partials lack it. */
  finalSources?: Record<string, number>;
  /** Items whose human ratings disagree (at least two distinct values). */
  disagreeingItems: number;
  /** Up to `SAMPLE_LIMIT` disagreeing item ids (for conflict resolution), in item order. */
  disagreeingSample: string[];
  /** Krippendorff coincidences o[c][k] over human ratings (nominal). */
  coincidences: Record<string, Record<string, number>>;
  /** Fleiss: Σ P_i over items with n_i ≥ 2, their count, category totals, and whether n was fixed. */
  fleiss: { sumP: number; items: number; totals: Record<string, number>; raters: number; fixed: boolean };
  /** Cohen contingency tables per annotator pair ("a\u0000b", a < b): table["c\u0000k"] = items a said c and b said k. */
  pairs: Record<string, Record<string, number>>;
  annotators: Record<string, AnnotatorPartial>;
  /** Per annotator, per time window: leave-one-out agreement with the consensus of the others. */
  drift: Record<string, Record<string, { items: number; agreed: number }>>;
  engines: Record<string, EnginePartial>;
  /** Final labels' counts. */
  finalLabels: Record<string, number>;
}

export interface AnnotatorPartial {
  rated: number;
  consensusItems: number;
  consensusAgreed: number;
  goldItems: number;
  goldCorrect: number;
  /** Latest annotation time seen (epoch ms). */
  lastAt: number;
}

export interface EnginePartial {
  annotations: number;
  failed: number;
  accepted: number;
  rejected: number;
  pending: number;
  /** AI label vs final label: confusion["ai\u0000final"] (only items with a final label). */
  confusion: Record<string, number>;
}

export const SAMPLE_LIMIT = 1000;
export const SEP = '\u0000';

export function emptyPartial(): QualityPartial {
  return {
    items: 0,
    itemsWithHuman: 0,
    humanRatings: 0,
    itemsWithFinal: 0,
    itemsUnresolved: 0,
    disagreeingItems: 0,
    disagreeingSample: [],
    coincidences: {},
    fleiss: { sumP: 0, items: 0, totals: {}, raters: -1, fixed: true },
    pairs: {},
    annotators: {},
    drift: {},
    engines: {},
    finalLabels: {},
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function addNested(into: Record<string, Record<string, number>>, from: Record<string, Record<string, number>>): void {
  for (const [k, row] of Object.entries(from)) addCounts((into[k] ??= {}), row);
}

/** a + b (a new object; neither argument changes). Associative and commutative up to float rounding. */
export function mergePartials(a: QualityPartial, b: QualityPartial): QualityPartial {
  const out: QualityPartial = JSON.parse(JSON.stringify(a));
  out.items += b.items;
  out.itemsWithHuman += b.itemsWithHuman;
  out.humanRatings += b.humanRatings;
  out.itemsWithFinal += b.itemsWithFinal;
  out.itemsUnresolved = (out.itemsUnresolved ?? 0) + (b.itemsUnresolved ?? 0);
  if (b.finalSources) addCounts((out.finalSources ??= {}), b.finalSources);
  out.disagreeingItems += b.disagreeingItems;
  out.disagreeingSample = [...out.disagreeingSample, ...b.disagreeingSample].slice(0, SAMPLE_LIMIT);
  addNested(out.coincidences, b.coincidences);
  out.fleiss.sumP += b.fleiss.sumP;
  out.fleiss.items += b.fleiss.items;
  addCounts(out.fleiss.totals, b.fleiss.totals);
  if (b.fleiss.raters !== -1) {
    if (out.fleiss.raters === -1) out.fleiss.raters = b.fleiss.raters;
    else if (out.fleiss.raters !== b.fleiss.raters) out.fleiss.fixed = false;
  }
  out.fleiss.fixed = out.fleiss.fixed && b.fleiss.fixed;
  addNested(out.pairs, b.pairs);
  for (const [id, p] of Object.entries(b.annotators)) {
    const t = (out.annotators[id] ??= { rated: 0, consensusItems: 0, consensusAgreed: 0, goldItems: 0, goldCorrect: 0, lastAt: 0 });
    t.rated += p.rated;
    t.consensusItems += p.consensusItems;
    t.consensusAgreed += p.consensusAgreed;
    t.goldItems += p.goldItems;
    t.goldCorrect += p.goldCorrect;
    t.lastAt = Math.max(t.lastAt, p.lastAt);
  }
  for (const [id, windows] of Object.entries(b.drift)) {
    const t = (out.drift[id] ??= {});
    for (const [w, c] of Object.entries(windows)) {
      const x = (t[w] ??= { items: 0, agreed: 0 });
      x.items += c.items;
      x.agreed += c.agreed;
    }
  }
  for (const [id, e] of Object.entries(b.engines)) {
    const t = (out.engines[id] ??= { annotations: 0, failed: 0, accepted: 0, rejected: 0, pending: 0, confusion: {} });
    t.annotations += e.annotations;
    t.failed += e.failed;
    t.accepted += e.accepted;
    t.rejected += e.rejected;
    t.pending += e.pending;
    addCounts(t.confusion, e.confusion);
  }
  addCounts(out.finalLabels, b.finalLabels);
  return out;
}
