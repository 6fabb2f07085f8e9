/**
 * What a client received against what it should have: the figures the event-stream tests assert
 * (all zero but `sent` and `received`) and print. Pure, so it has tests of its own.
 */
export interface DeliveryAudit {
  /** Events the client should have received (committed, in its range). */
  sent: number;
  received: number;
  /** Expected but never received. */
  missed: number;
  /** Received more than once (every extra copy counts). */
  duplicates: number;
  /** Received after an event with a higher (or equal) id. */
  outOfOrder: number;
  /** Received but not expected (another project's, a rolled-back one, …). */
  unexpected: number;
}

export function auditDelivery(expected: readonly bigint[], received: readonly bigint[]): DeliveryAudit {
  const want = new Set(expected.map(String));
  const seen = new Set<string>();
  let duplicates = 0;
  let outOfOrder = 0;
  let unexpected = 0;
  received.forEach((id, i) => {
    const k = String(id);
    if (seen.has(k)) duplicates++;
    seen.add(k);
    if (!want.has(k)) unexpected++;
    if (i > 0 && id <= received[i - 1]) outOfOrder++;
  });
  const missed = [...want].filter((k) => !seen.has(k)).length;
  return { sent: want.size, received: received.length, missed, duplicates, outOfOrder, unexpected };
}

/** The audit of a perfect delivery of `n` events, for `toEqual`. */
export function perfect(n: number): DeliveryAudit {
  return { sent: n, received: n, missed: 0, duplicates: 0, outOfOrder: 0, unexpected: 0 };
}
