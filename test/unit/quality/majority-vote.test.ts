import { majorityVote, type Rating } from '../../../src/quality';
import { fromItemRows } from './helpers';

describe('majorityVote', () => {
  const labels = ['pos', 'neg', 'neutral'];

  it('takes the most frequent label', () => {
    const votes = majorityVote(fromItemRows([['neg', 'neg', 'pos'], ['neutral', 'pos', 'neutral', 'neutral']]), labels);
    expect(votes.get('i1')).toEqual({ itemId: 'i1', label: 'neg', leaders: ['neg'], votes: 2, runnerUpVotes: 1, total: 3, tied: false });
    expect(votes.get('i2')).toEqual({ itemId: 'i2', label: 'neutral', leaders: ['neutral'], votes: 3, runnerUpVotes: 1, total: 4, tied: false });
  });

  // Issue 12 changed the tie rule: a tie used to go to the first label in the label order
  // (label 'neg' here, 'pos' for the three-way tie); now a tie has no label and lists its leaders.
  it('a tie has no label; its leaders are listed in the label order, whatever the vote order', () => {
    const a = majorityVote(fromItemRows([['neutral', 'neg']]), labels).get('i1')!;
    const b = majorityVote(fromItemRows([['neg', 'neutral']]), labels).get('i1')!;
    expect(a).toEqual({ itemId: 'i1', label: null, leaders: ['neg', 'neutral'], votes: 1, runnerUpVotes: 1, total: 2, tied: true });
    expect(b).toEqual(a);
    expect(majorityVote(fromItemRows([['neutral', 'neg', 'pos']]), labels).get('i1')).toMatchObject({ label: null, leaders: ['pos', 'neg', 'neutral'], tied: true });
    // A tie below the top does not count as a tie.
    expect(majorityVote(fromItemRows([['neutral', 'neg', 'pos', 'pos']]), labels).get('i1')).toMatchObject({ label: 'pos', tied: false, runnerUpVotes: 1 });
  });

  it('ranks values outside the label order after it, among themselves by string order', () => {
    expect(majorityVote(fromItemRows([['zebra', 'neutral']]), labels).get('i1')!.leaders).toEqual(['neutral', 'zebra']);
    expect(majorityVote(fromItemRows([['zebra', 'apple']]), labels).get('i1')!.leaders).toEqual(['apple', 'zebra']);
    expect(majorityVote(fromItemRows([['apple', 'zebra']])).get('i1')!.leaders).toEqual(['apple', 'zebra']);
  });

  it('treats numbers and their string form as one label, and keeps the last vote per annotator', () => {
    const ratings: Rating[] = [
      { itemId: 'x', annotatorId: 'a', value: 3 },
      { itemId: 'x', annotatorId: 'b', value: '3' },
      { itemId: 'x', annotatorId: 'c', value: 1 },
      { itemId: 'x', annotatorId: 'a', value: 1 }, // a changes its mind: 1 now has 2 votes
    ];
    expect(majorityVote(ratings, ['1', '2', '3']).get('x')).toEqual({ itemId: 'x', label: '1', leaders: ['1'], votes: 2, runnerUpVotes: 1, total: 3, tied: false });
  });

  it('a single vote is the majority', () => {
    expect(majorityVote([{ itemId: 'x', annotatorId: 'a', value: 'neg' }], labels).get('x')!.label).toBe('neg');
  });
});
