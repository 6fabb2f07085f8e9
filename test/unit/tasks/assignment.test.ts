import { groupItems, pickAssignee, pickExpertAssignee, type Candidate } from '../../../src/annotation/assignment';
import { autoResolve, itemsWithHistory } from '../../../src/annotation/conflict-rules';
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
  test('a tie is not resolved at the default margin; at margin 0 the first label in the label order wins', () => {
    const ratings = [r('a', 'neutral'), r('b', 'negative')];
    expect(autoResolve({ itemId: 'i1', itemRatings: ratings, labels })).toMatchObject({ resolved: false, tied: true, margin: 0 });
    expect(autoResolve({ itemId: 'i1', itemRatings: ratings, labels, minMargin: 0 })).toMatchObject({ resolved: true, label: 'negative', tied: true });
    expect(autoResolve({ itemId: 'i1', itemRatings: [r('a', 'neutral'), r('b', 'positive')], labels, minMargin: 0 }).label).toBe('positive');
  });
  test('Dawid–Skene once the project has enough history', () => {
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
    // Below the threshold it is majority vote (a tie here).
    expect(autoResolve({ itemId: 'i1', itemRatings: item, projectRatings: [...history, ...item], labels, dsMinItems: 100 }).method).toBe('majority_vote');
  });
});
