import type { MajorityVote } from './majority-vote';

/**
 * The final label of an item, as the quality report, AI accuracy and near-duplicate checks use it
 * today: the item's gold label, else the majority of its human annotations. A majority tie is
 * `unresolved` (no label: left out of the label distribution and AI accuracy, counted apart),
 * never the first label in the label order. Items with neither gold nor human annotations have
 * no final label (`null`).
 *
 * One function on purpose: when final labels are kept in a table (expert resolution > gold >
 * automatic resolution > consensus > AI, with provenance), this is what that table replaces.
 */
export type FinalLabel = { status: 'labelled'; label: string; source: 'gold' | 'majority' } | { status: 'unresolved'; label: null; tiedLabels: string[] };

export function finalLabelOf(gold: string | null | undefined, majority: MajorityVote | undefined): FinalLabel | null {
  if (gold !== null && gold !== undefined) return { status: 'labelled', label: gold, source: 'gold' };
  if (!majority) return null;
  if (majority.label === null) return { status: 'unresolved', label: null, tiedLabels: majority.leaders };
  return { status: 'labelled', label: majority.label, source: 'majority' };
}
