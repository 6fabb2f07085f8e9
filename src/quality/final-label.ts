import type { MajorityVote } from './majority-vote';
import { majorityVote } from './majority-vote';
import type { LabelOrder } from './types';
import { valueCategory } from './value-category';

/**
 * THE final label of an item, and where it came from. Precedence, highest first:
 *
 *   expert resolution > gold > automatic resolution > consensus of humans > AI (auto-accepted)
 *
 * - an expert's resolution of the item's conflict is the last word (the latest one, if several);
 * - a gold label is ground truth the project was given, above any automatic decision;
 * - an automatic resolution (majority vote with a margin, or Dawid–Skene under its evidence rule)
 *   settled a disagreement of humans;
 * - consensus of humans: the majority of the latest human judgement per annotator (one annotator
 *   is a consensus of one); a tie is `unresolved` (no label, the tied labels named), never the
 *   first label in the label order;
 * - an AI annotation counts only when it was auto-accepted (or accepted/approved) and no human
 *   gave a judgement on the item or rejected it since.
 *
 * Pure: the sources are read by src/data/final-labels.ts, which writes the result to
 * `final_labels` in the transaction of the decision that changed a source.
 */
export type FinalSource = 'expert' | 'gold' | 'auto' | 'consensus' | 'ai';

export interface FinalLabelInput {
  annotation_id: string;
  annotator_id?: string;
  engine_id?: string;
  label: string | null;
}

export interface FinalLabelDecision {
  itemId: string;
  status: 'labelled' | 'unresolved';
  /** Category key; null when unresolved. */
  label: string | null;
  value: unknown;
  source: FinalSource;
  method: string;
  decidedBy: string;
  decidedAt: string;
  conflictId: string | null;
  annotationId: string | null;
  engineId: string | null;
  confidence: number | null;
  inputs: FinalLabelInput[];
  details: Record<string, unknown>;
}

export interface ResolutionSource {
  conflictId: string;
  /** `resolved` (an expert or manager) or `auto_resolved`. */
  status: 'resolved' | 'auto_resolved';
  method: string | null;
  value: unknown;
  resolvedBy: string | null;
  resolvedAt: string;
  reason: string | null;
  inputs: { annotation_id: string; annotator_id: string; value: unknown }[];
}

export interface FinalLabelSources {
  itemId: string;
  gold: { value: unknown; at: string } | null;
  /** The item's latest expert resolution and latest automatic one (either may be absent). */
  expert: ResolutionSource | null;
  auto: ResolutionSource | null;
  /** Latest human judgement per annotator. */
  human: { annotationId: string; annotatorId: string; value: unknown; at: string }[];
  /** The latest accepted AI annotation no human rejected since, if any. */
  ai: { annotationId: string; engineId: string; value: unknown; confidence: number | null; at: string } | null;
}

function fromResolution(itemId: string, r: ResolutionSource, source: 'expert' | 'auto'): FinalLabelDecision {
  return {
    itemId,
    status: 'labelled',
    label: valueCategory(r.value),
    value: r.value,
    source,
    method: source === 'expert' ? 'expert' : (r.method ?? 'auto'),
    decidedBy: r.resolvedBy ?? 'system',
    decidedAt: r.resolvedAt,
    conflictId: r.conflictId,
    annotationId: null,
    engineId: null,
    confidence: null,
    inputs: r.inputs.map((i) => ({ annotation_id: i.annotation_id, annotator_id: i.annotator_id, label: valueCategory(i.value) })),
    details: r.reason ? { reason: r.reason } : {},
  };
}

/** The final label of one item from its sources; null when nothing decides it (no gold, no human judgement, no accepted AI label). */
export function decideFinalLabel(s: FinalLabelSources, labels: LabelOrder = []): FinalLabelDecision | null {
  const none = { conflictId: null, annotationId: null, engineId: null, confidence: null };
  if (s.expert && valueCategory(s.expert.value) !== null) return fromResolution(s.itemId, s.expert, 'expert');
  const goldKey = s.gold ? valueCategory(s.gold.value) : null;
  if (s.gold && goldKey !== null) {
    return { itemId: s.itemId, status: 'labelled', label: goldKey, value: s.gold.value, source: 'gold', method: 'gold', decidedBy: 'gold', decidedAt: s.gold.at, ...none, inputs: [], details: {} };
  }
  if (s.auto && valueCategory(s.auto.value) !== null) return fromResolution(s.itemId, s.auto, 'auto');
  const human = s.human.map((h) => ({ ...h, key: valueCategory(h.value) })).filter((h) => h.key !== null);
  if (human.length) {
    const vote = majorityVote(
      human.map((h) => ({ itemId: s.itemId, annotatorId: h.annotatorId, value: h.key! })),
      labels,
    ).get(s.itemId)!;
    const inputs = human.map((h) => ({ annotation_id: h.annotationId, annotator_id: h.annotatorId, label: h.key }));
    const decidedAt = human.reduce((latest, h) => (h.at > latest ? h.at : latest), human[0].at);
    const details = { votes: vote.votes, total: vote.total, ...(vote.tied ? { tied_labels: vote.leaders } : {}) };
    if (vote.tied) {
      return { itemId: s.itemId, status: 'unresolved', label: null, value: null, source: 'consensus', method: 'tie', decidedBy: 'consensus', decidedAt, ...none, inputs, details };
    }
    const method = vote.total === 1 ? 'single' : vote.votes === vote.total ? 'unanimous' : 'majority';
    const value = human.find((h) => h.key === vote.label)!.value;
    return { itemId: s.itemId, status: 'labelled', label: vote.label, value, source: 'consensus', method, decidedBy: 'consensus', decidedAt, ...none, inputs, details };
  }
  const aiKey = s.ai ? valueCategory(s.ai.value) : null;
  if (s.ai && aiKey !== null) {
    return {
      itemId: s.itemId,
      status: 'labelled',
      label: aiKey,
      value: s.ai.value,
      source: 'ai',
      method: 'ai',
      decidedBy: s.ai.engineId,
      decidedAt: s.ai.at,
      conflictId: null,
      annotationId: s.ai.annotationId,
      engineId: s.ai.engineId,
      confidence: s.ai.confidence,
      inputs: [{ annotation_id: s.ai.annotationId, engine_id: s.ai.engineId, label: aiKey }],
      details: {},
    };
  }
  return null;
}

/**
 * The final label as a page of the quality pipeline sees it when no `final_labels` row was read
 * (pure tests, and items decided by nothing but gold or humans): gold, else the majority of the
 * human annotations, a tie unresolved. The same precedence as `decideFinalLabel` without the
 * resolutions and the AI.
 */
export type FinalLabel = { status: 'labelled'; label: string; source: FinalSource } | { status: 'unresolved'; label: null; source: 'consensus'; tiedLabels: string[] };

export function finalLabelOf(gold: string | null | undefined, majority: MajorityVote | undefined): FinalLabel | null {
  if (gold !== null && gold !== undefined) return { status: 'labelled', label: gold, source: 'gold' };
  if (!majority) return null;
  if (majority.label === null) return { status: 'unresolved', label: null, source: 'consensus', tiedLabels: majority.leaders };
  return { status: 'labelled', label: majority.label, source: 'consensus' };
}
