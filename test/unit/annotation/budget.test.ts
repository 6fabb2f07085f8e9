import { budgetReached, canonicalDecimal, compareDecimals, normalizeBudget } from '../../../src/annotation/budget';

test('normalizeBudget accepts decimals > 0 that fit numeric(20,10)', () => {
  expect(normalizeBudget(0.1)).toBe('0.1');
  expect(normalizeBudget('0.10')).toBe('0.1');
  expect(normalizeBudget(12)).toBe('12');
  expect(normalizeBudget('0.0000000001')).toBe('0.0000000001');
  expect(normalizeBudget(1e-7)).toBe('0.0000001');
  for (const bad of [0, -1, '0', '0.00000000001', '12345678901', 'abc', '', null, undefined, NaN, Infinity, {}, '1e400']) {
    expect(normalizeBudget(bad)).toBeNull();
  }
});

test('a decimal string must be plain: no exponent, sign, hex, spaces or bare point', () => {
  for (const bad of ['1e5', '1E5', '+1', '-1', '0x10', ' 2.5', '2.5 ', '1.', '.5', '1_000', '١٢']) {
    expect(normalizeBudget(bad)).toBeNull();
  }
  // A JSON number is a number, whatever its spelling on the wire: 1e5 arrives as 100000.
  expect(normalizeBudget(1e5)).toBe('100000');
  expect(normalizeBudget('100000.50')).toBe('100000.5');
});

test('compareDecimals is exact where floats are not', () => {
  expect(compareDecimals('0.3', '0.1')).toBe(1);
  // 0.1 + 0.2 !== 0.3 in floats; the ledger sums exactly.
  expect(compareDecimals('0.3000000000', '0.3')).toBe(0);
  expect(compareDecimals('0.0000000001', '0')).toBe(1);
  expect(compareDecimals('1.9999999999', '2')).toBe(-1);
  expect(compareDecimals(5, '5.0')).toBe(0);
});

test('budgetReached at or over the budget, never without one', () => {
  expect(budgetReached('0.0012500000', '0.00125')).toBe(true);
  expect(budgetReached('0.0012499999', '0.00125')).toBe(false);
  expect(budgetReached('99', null)).toBe(false);
  expect(budgetReached('99', undefined)).toBe(false);
  expect(canonicalDecimal('0.0012500000')).toBe('0.00125');
  expect(canonicalDecimal(null)).toBe('0');
});
