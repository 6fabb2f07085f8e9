import { computeCostUsd, formatDecimal, parseDecimal, sumDecimals } from '../../../src/llm/cost';

const usage = (promptTokens: number, completionTokens: number, cachedTokens = 0) => ({ promptTokens, completionTokens, cachedTokens });

describe('computeCostUsd', () => {
  it('is exact for PostgreSQL numeric(20,10) price strings', () => {
    // 1234/1000 * 0.0025 + 567/1000 * 0.01 = 0.003085 + 0.00567
    expect(computeCostUsd(usage(1234, 567), { price_input_per_1k: '0.0025000000', price_output_per_1k: '0.0100000000' })).toBe(
      '0.008755',
    );
  });

  it('does not suffer floating point error', () => {
    // 0.1 + 0.2 in floating point is 0.30000000000000004
    expect(computeCostUsd(usage(1000, 1000), { price_input_per_1k: '0.1', price_output_per_1k: '0.2' })).toBe('0.3');
    // 3 tokens at 0.0000000001 per 1k: 3e-13, below numeric(20,10) but still exact here
    expect(computeCostUsd(usage(3, 0), { price_input_per_1k: '0.0000000001', price_output_per_1k: '0' })).toBe('0.0000000000003');
  });

  it('is zero for free engines and empty usage', () => {
    expect(computeCostUsd(usage(0, 0), { price_input_per_1k: '0.0000000000', price_output_per_1k: '0.0000000000' })).toBe('0');
    expect(computeCostUsd(usage(500, 20), { price_input_per_1k: 0, price_output_per_1k: 0 })).toBe('0');
  });

  it('bills cached prompt tokens at cached_input_per_1k when set', () => {
    const prices = { price_input_per_1k: '0.003', price_output_per_1k: '0.015', params: { cached_input_per_1k: '0.0003' } };
    // (2000-1500)/1000*0.003 + 1500/1000*0.0003 + 100/1000*0.015 = 0.0015 + 0.00045 + 0.0015
    expect(computeCostUsd(usage(2000, 100, 1500), prices)).toBe('0.00345');
    // Without a cached price, cached tokens are ordinary prompt tokens.
    expect(computeCostUsd(usage(2000, 100, 1500), { price_input_per_1k: '0.003', price_output_per_1k: '0.015' })).toBe('0.0075');
    // More cached than prompt tokens (a provider quirk) never bills negative tokens.
    expect(computeCostUsd(usage(10, 0, 50), prices)).toBe('0.000003');
  });

  it('handles large token counts and high-precision prices exactly', () => {
    expect(
      computeCostUsd(usage(987_654_321, 123_456_789), { price_input_per_1k: '0.0000012345', price_output_per_1k: '1234.5678901234' }),
    ).toBe('152415788.7363990370371');
  });
});

describe('decimal helpers', () => {
  it('parses and formats without loss', () => {
    expect(formatDecimal(parseDecimal('0012.5000'))).toBe('12.5');
    expect(formatDecimal(parseDecimal('-0.000'))).toBe('0');
    expect(formatDecimal(parseDecimal('1e-7'))).toBe('0.0000001');
    expect(formatDecimal(parseDecimal(2.5e3))).toBe('2500');
    expect(() => parseDecimal('abc')).toThrow();
  });

  it('sums exactly', () => {
    expect(sumDecimals(['0.1', '0.2', '0.0000000001'])).toBe('0.3000000001');
    expect(sumDecimals([])).toBe('0');
  });
});
