import { auditDelivery, perfect } from '../../helpers/delivery-audit';

describe('auditDelivery', () => {
  it('finds nothing wrong with an exact, ordered delivery', () => {
    expect(auditDelivery([1n, 2n, 5n], [1n, 2n, 5n])).toEqual(perfect(3));
  });

  it('counts a missing event, a repeat, a reordering and a stranger', () => {
    // The observed bugs: [3] for [2, 3]; [7, 6] for [6, 7].
    expect(auditDelivery([2n, 3n], [3n])).toMatchObject({ sent: 2, received: 1, missed: 1, outOfOrder: 0 });
    expect(auditDelivery([6n, 7n], [7n, 6n])).toMatchObject({ missed: 0, outOfOrder: 1, duplicates: 0 });
    expect(auditDelivery([1n, 2n], [1n, 2n, 2n, 9n])).toEqual({ sent: 2, received: 4, missed: 0, duplicates: 1, outOfOrder: 1, unexpected: 1 });
  });
});
