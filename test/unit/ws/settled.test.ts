import { canPass } from '../../../src/ws/settled';

describe('canPass', () => {
  it('passes the next id at once, whatever is settled', () => {
    expect(canPass(10n, 0n, 11n)).toBe(true);
  });

  it('passes a gap only when all of it is settled', () => {
    // 11 and 12 missing before 13: settled 12 means neither can still commit.
    expect(canPass(10n, 12n, 13n)).toBe(true);
    expect(canPass(10n, 20n, 13n)).toBe(true);
    // 12 may still commit (settled stops at 11): wait, however long it takes.
    expect(canPass(10n, 11n, 13n)).toBe(false);
    expect(canPass(10n, 10n, 13n)).toBe(false);
  });
});
