/**
 * The relay's one rule for an id gap (see EventRelay): after `watermark`, the next visible id
 * may be handed on when it is the very next one, or when every id skipped is at or below
 * `settled` — the highest id below which no transaction still in flight can commit one, read
 * before the rows were. No clock in it: a gap waits for as long as it is unsettled.
 */
export function canPass(watermark: bigint, settled: bigint, next: bigint): boolean {
  return next === watermark + 1n || next - 1n <= settled;
}
