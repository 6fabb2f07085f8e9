import { majorityVote, type Rating } from '../../../src/quality';
import { fromItemRows } from './helpers';

describe('majorityVote', () => {
  const labels = ['pos', 'neg', 'neutral'];

  it('takes the most frequent label', () => {
    const votes = majorityVote(fromItemRows([['neg', 'neg', 'pos'], ['neutral', 'pos', 'neutral', 'neutral']]), labels);
    expect(votes.get('i1')).toEqual({ itemId: 'i1', label: 'neg', votes: 2, total: 3, tied: false });
    expect(votes.get('i2')).toEqual({ itemId: 'i2', label: 'neutral', votes: 3, total: 4, tied: false });
  });

  it('breaks ties by the first label in the label order, whatever the vote order', () => {
    const a = majorityVote(fromItemRows([['neutral', 'neg']]), labels).get('i1')!;
    const b = majorityVote(fromItemRows([['neg', 'neutral']]), labels).get('i1')!;
    expect(a).toEqual({ itemId: 'i1', label: 'neg', votes: 1, total: 2, tied: true });
    expect(b).toEqual(a);
    // A three-way tie goes to 'pos', the first label.
    expect(majorityVote(fromItemRows([['neutral', 'neg', 'pos']]), labels).get('i1')!.label).toBe('pos');
    // A tie below the top does not count as a tie.
    expect(majorityVote(fromItemRows([['neutral', 'neg', 'pos', 'pos']]), labels).get('i1')!.tied).toBe(false);
  });

  it('ranks values outside the label order after it, among themselves by string order', () => {
    expect(majorityVote(fromItemRows([['zebra', 'neutral']]), labels).get('i1')!.label).toBe('neutral');
    expect(majorityVote(fromItemRows([['zebra', 'apple']]), labels).get('i1')!.label).toBe('apple');
    expect(majorityVote(fromItemRows([['apple', 'zebra']])).get('i1')!.label).toBe('apple');
  });

  it('treats numbers and their string form as one label, and keeps the last vote per annotator', () => {
    const ratings: Rating[] = [
      { itemId: 'x', annotatorId: 'a', value: 3 },
      { itemId: 'x', annotatorId: 'b', value: '3' },
      { itemId: 'x', annotatorId: 'c', value: 1 },
      { itemId: 'x', annotatorId: 'a', value: 1 }, // a changes its mind: 1 now has 2 votes
    ];
    expect(majorityVote(ratings, ['1', '2', '3']).get('x')).toEqual({ itemId: 'x', label: '1', votes: 2, total: 3, tied: false });
  });

  it('a single vote is the majority', () => {
    expect(majorityVote([{ itemId: 'x', annotatorId: 'a', value: 'neg' }], labels).get('x')!.label).toBe('neg');
  });
});
