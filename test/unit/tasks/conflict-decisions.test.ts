import { conflictDecider } from '../../../src/annotation/conflict-decisions';
import type { HumanValue } from '../../../src/annotation/disagreement';
import { dawidSkene } from '../../../src/quality/dawid-skene';

// The real model, counted: how many times a run fits it.
jest.mock('../../../src/quality/dawid-skene', () => {
  const actual = jest.requireActual('../../../src/quality/dawid-skene');
  return { ...actual, dawidSkene: jest.fn(actual.dawidSkene) };
});
const fit = dawidSkene as jest.MockedFunction<typeof dawidSkene>;

const LABELS = ['positive', 'negative', 'neutral'];
const row = (item: string, annotator: string, label: string): HumanValue => ({ id: `${item}-${annotator}-${label}`, item_id: item, annotator_id: annotator, value: { label } });

/** 300 items × 3 annotators, a 2–1 split on every third item: history enough for the model. */
function history(): HumanValue[] {
  const rows: HumanValue[] = [];
  for (let i = 0; i < 300; i++) {
    const truth = LABELS[i % 3];
    for (const a of ['a1', 'a2', 'a3']) rows.push(row(`i${i}`, a, a === 'a3' && i % 3 === 0 ? LABELS[(i + 1) % 3] : truth));
  }
  return rows;
}

beforeEach(() => fit.mockClear());

test('the model is fitted once for all the conflicts of a run, not once per conflict', () => {
  const rows = history();
  const decide = conflictDecider(rows, { labels: LABELS, minMargin: 0.3, dsMinItems: 50 });
  const disagreeing = [...new Set(rows.map((r) => r.item_id))].filter((_, i) => i % 3 === 0);
  const decisions = disagreeing.map((item) => decide(item, rows.filter((r) => r.item_id === item)));
  expect(disagreeing).toHaveLength(100);
  expect(fit.mock.calls.length).toBeLessThanOrEqual(1);
  // Whenever the rules chose the model for some item, it was fitted exactly once for all of them.
  if (decisions.some((d) => d.decision.method === 'dawid_skene')) expect(fit).toHaveBeenCalledTimes(1);
  for (const d of decisions) expect(d.annotationIds).toEqual([...d.annotationIds].sort());
  console.log(`conflict decisions: ${decisions.length} items, model fits ${fit.mock.calls.length}, methods ${JSON.stringify([...new Set(decisions.map((d) => d.decision.method))])}`);
});

test('an item whose rows are not the history’s (changed since it was read) is decided from its own ratings', () => {
  const rows = history();
  const decide = conflictDecider(rows, { labels: LABELS, minMargin: 0.3, dsMinItems: 50 });
  const changed = [row('i0', 'a1', 'positive'), row('i0', 'a2', 'positive'), row('i0', 'a3', 'negative'), row('i0', 'a4', 'neutral')];
  const d = decide('i0', changed);
  expect(d.decision.method).toBe('majority_vote');
  expect(d.annotationIds).toEqual(changed.map((r) => r.id).sort());
});

test('without history (too few items) majority vote decides', () => {
  const decide = conflictDecider([], { labels: LABELS, minMargin: 0.3, dsMinItems: 50 });
  const d = decide('x', [row('x', 'a', 'positive'), row('x', 'b', 'positive'), row('x', 'c', 'negative')]);
  expect(d.decision).toMatchObject({ method: 'majority_vote', label: 'positive', resolved: true });
  expect(fit).not.toHaveBeenCalled();
});
