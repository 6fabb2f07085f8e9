import { groupItems, pickAssignee, pickExpertAssignee, type Candidate } from '../../../src/annotation/assignment';
import { autoResolve, dawidSkeneResolution, itemsWithHistory } from '../../../src/annotation/conflict-rules';
import { fitAggregationModel } from '../../../src/quality/aggregation-model';
import { labelValueProblem, valueKey } from '../../../src/annotation/label-value';
import { taskIdFor } from '../../../src/tasks/start-task';

const members: Candidate[] = [
  { userId: 'carol', openTasks: 2, joinedAt: 3000 },
  { userId: 'alice', openTasks: 1, joinedAt: 1000 },
  { userId: 'bob', openTasks: 1, joinedAt: 2000 },
];

describe('pickExpertAssignee: expert work with no manager/expert member goes to the project creator', () => {
  test('members with an expert role come first; the creator only when there are none', () => {
    expect(pickExpertAssignee({ strategy: 'least_loaded', candidates: members, projectCreatorId: 'mia' })).toBe('alice');
    expect(pickExpertAssignee({ strategy: 'least_loaded', candidates: [], projectCreatorId: 'mia' })).toBe('mia');
    expect(pickExpertAssignee({ strategy: 'least_loaded', candidates: [], projectCreatorId: null })).toBeNull();
  });
  test('members who are all excluded still mean "escalate"; an excluded creator too', () => {
    const everyone = members.map((m) => m.userId);
    expect(pickExpertAssignee({ strategy: 'least_loaded', candidates: members, exclude: everyone, projectCreatorId: 'mia' })).toBeNull();
    expect(pickExpertAssignee({ strategy: 'least_loaded', candidates: [], exclude: ['mia'], projectCreatorId: 'mia' })).toBeNull();
  });
});

describe('pickAssignee', () => {
  test('least_loaded: fewest open tasks, ties to the earliest member', () => {
    expect(pickAssignee({ strategy: 'least_loaded', candidates: members })).toBe('alice');
    expect(pickAssignee({ strategy: 'least_loaded', candidates: members, exclude: ['alice'] })).toBe('bob');
    expect(pickAssignee({ strategy: 'least_loaded', candidates: [{ ...members[0], openTasks: 0 }, ...members.slice(1)] })).toBe('carol');
  });
  test('round_robin: the member after the last assignee in join order, wrapping', () => {
    expect(pickAssignee({ strategy: 'round_robin', candidates: members, lastAssigneeId: null })).toBe('alice');
    expect(pickAssignee({ strategy: 'round_robin', candidates: members, lastAssigneeId: 'alice' })).toBe('bob');
    expect(pickAssignee({ strategy: 'round_robin', candidates: members, lastAssigneeId: 'bob' })).toBe('carol');
    expect(pickAssignee({ strategy: 'round_robin', candidates: members, lastAssigneeId: 'carol' })).toBe('alice');
    expect(pickAssignee({ strategy: 'round_robin', candidates: members, lastAssigneeId: 'bob', exclude: ['carol'] })).toBe('alice');
    // A last assignee who left the pool: start from the beginning.
    expect(pickAssignee({ strategy: 'round_robin', candidates: members, lastAssigneeId: 'zed' })).toBe('alice');
  });
  test('nobody eligible → null', () => {
    expect(pickAssignee({ strategy: 'least_loaded', candidates: [] })).toBeNull();
    expect(pickAssignee({ strategy: 'round_robin', candidates: members, exclude: ['alice', 'bob', 'carol'] })).toBeNull();
  });
});

test('groupItems bounds group size and keeps order', () => {
  const ids = Array.from({ length: 53 }, (_, i) => i);
  const groups = groupItems(ids, 25);
  expect(groups.map((g) => g.length)).toEqual([25, 25, 3]);
  expect(groups.flat()).toEqual(ids);
  expect(groupItems([], 25)).toEqual([]);
});

test('taskIdFor is a stable UUID per name', () => {
  expect(taskIdFor('job:1:0')).toBe(taskIdFor('job:1:0'));
  expect(taskIdFor('job:1:0')).not.toBe(taskIdFor('job:1:1'));
  expect(taskIdFor('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('labelValueProblem checks values against the schema', () => {
  const single = { type: 'single_label' as const, labels: ['positive', 'negative'] };
  expect(labelValueProblem(single, { label: 'positive' })).toBeNull();
  expect(labelValueProblem(single, { label: 'meh' })).toMatch(/not one of/);
  expect(labelValueProblem(single, { labels: ['positive'] })).toMatch(/label/);
  const multi = { type: 'multi_label' as const, labels: ['a', 'b'] };
  expect(labelValueProblem(multi, { labels: ['b', 'a'] })).toBeNull();
  expect(labelValueProblem(multi, { labels: ['a', 'a'] })).toMatch(/unique/);
  expect(valueKey({ labels: ['b', 'a'] })).toBe(valueKey({ labels: ['a', 'b'] }));
});

describe('autoResolve', () => {
  const labels = ['positive', 'negative', 'neutral'];
  const r = (annotatorId: string, value: string) => ({ itemId: 'i1', annotatorId, value });
  test('majority with a margin resolves', () => {
    const out = autoResolve({ itemId: 'i1', itemRatings: [r('a', 'negative'), r('b', 'negative'), r('c', 'positive')], labels });
    expect(out).toMatchObject({ method: 'majority_vote', label: 'negative', resolved: true, tied: false });
    expect(out.margin).toBeCloseTo(1 / 3);
  });
  // Issue 12 changed this: at margin 0 a tie used to resolve to the first label in the label
  // order ('negative', then 'positive'); now a tie never resolves automatically, also at margin 0.
  test('a tie is never resolved automatically and proposes no label, also at margin 0', () => {
    const ratings = [r('a', 'neutral'), r('b', 'negative')];
    expect(autoResolve({ itemId: 'i1', itemRatings: ratings, labels })).toMatchObject({ resolved: false, tied: true, margin: 0, label: null });
    expect(autoResolve({ itemId: 'i1', itemRatings: ratings, labels, minMargin: 0 })).toMatchObject({ resolved: false, tied: true, label: null });
    expect(autoResolve({ itemId: 'i1', itemRatings: [r('a', 'neutral'), r('b', 'positive')], labels, minMargin: 0 })).toMatchObject({ resolved: false, label: null });
    // Margin 0 resolves whatever has a strict winner, however narrow.
    const narrow = [r('a', 'neutral'), r('b', 'neutral'), r('c', 'neutral'), r('d', 'positive'), r('e', 'positive'), r('f', 'negative'), r('g', 'negative')];
    expect(autoResolve({ itemId: 'i1', itemRatings: narrow, labels })).toMatchObject({ resolved: false, label: 'neutral' });
    expect(autoResolve({ itemId: 'i1', itemRatings: narrow, labels, minMargin: 0 })).toMatchObject({ resolved: true, label: 'neutral', tied: false });
  });
  test('Dawid–Skene once the project has enough history and the item\'s annotators differ in accuracy', () => {
    const history = [];
    for (let i = 0; i < 60; i++) {
      const truth = labels[i % 3];
      history.push({ itemId: `h${i}`, annotatorId: 'good1', value: truth }, { itemId: `h${i}`, annotatorId: 'good2', value: truth });
      history.push({ itemId: `h${i}`, annotatorId: 'noisy', value: labels[(i + 1) % 3] });
    }
    expect(itemsWithHistory(history)).toBe(60);
    const item = [r('good1', 'neutral'), r('noisy', 'positive')];
    const out = autoResolve({ itemId: 'i1', itemRatings: item, projectRatings: [...history, ...item], labels, dsMinItems: 50 });
    expect(out.method).toBe('dawid_skene');
    expect(out.label).toBe('neutral');
    expect(out.resolved).toBe(true);
    expect(out.dsFit).toMatchObject({ converged: true });
    // Below the threshold it is majority vote (a tie here: an expert).
    const few = autoResolve({ itemId: 'i1', itemRatings: item, projectRatings: [...history, ...item], labels, dsMinItems: 100 });
    expect(few).toMatchObject({ method: 'majority_vote', resolved: false, label: null });
    // Two equally good annotators: Dawid–Skene adds nothing to the vote, so the vote decides.
    const equal = autoResolve({ itemId: 'i1', itemRatings: [r('good1', 'neutral'), r('good2', 'positive')], projectRatings: [...history, ...item], labels });
    expect(equal).toMatchObject({ method: 'majority_vote', resolved: false });
    expect(equal.dsSkipped).toMatch(/accuracies differ by 0.0/);
  });

  test('a fit that did not converge is not used', () => {
    const history = [];
    for (let i = 0; i < 60; i++) {
      const truth = labels[i % 3];
      history.push({ itemId: `h${i}`, annotatorId: 'good1', value: truth }, { itemId: `h${i}`, annotatorId: 'noisy', value: labels[(i + 1) % 3] });
      history.push({ itemId: `h${i}`, annotatorId: 'good2', value: truth });
    }
    const item = [r('good1', 'neutral'), r('noisy', 'positive')];
    const model = fitAggregationModel([...history, ...item], labels, { maxIterations: 1 });
    expect(model.fit.converged).toBe(false);
    const out = autoResolve({ itemId: 'i1', itemRatings: item, model, labels });
    expect(out).toMatchObject({ method: 'majority_vote', resolved: false, dsFit: { iterations: 1, converged: false } });
    expect(out.dsSkipped).toMatch(/did not converge/);
  });

  test('Dawid–Skene picks only among the given labels; a fit that believes in another label does not resolve', () => {
    // An adversary that always says the "next" label (positive → negative → neutral → positive),
    // and an annotator who is right 4 times in 5 (else says the label after next).
    const history = [];
    for (let i = 0; i < 60; i++) {
      const truth = i % 3;
      history.push({ itemId: `h${i}`, annotatorId: 'good', value: labels[i % 5 === 0 ? (truth + 2) % 3 : truth] });
      history.push({ itemId: `h${i}`, annotatorId: 'adv', value: labels[(truth + 1) % 3] });
    }
    // good says neutral, adv says negative: the fit believes 'positive' (adv's "negative" means
    // positive; good errs as neutral on positives), a label nobody gave on this item. The old
    // switch answered 'positive' (as in issue 12's l1, l0, l0, l1, l0 → l5).
    const item = [r('good', 'neutral'), r('adv', 'negative')];
    const model = fitAggregationModel([...history, ...item], labels);
    expect(model.fit.items.find((i) => i.itemId === 'i1')!.label).toBe('positive');
    const out = dawidSkeneResolution(model, 'i1', item)!;
    expect(['neutral', 'negative']).toContain(out.label);
    expect(out.posterior!.positive).toBeGreaterThan(0.5);
    expect(out.margin).toBeLessThan(0);
    expect(out.resolved).toBe(false);
  });
});
