import { batchPrices, computeCostUsd, halfDecimal } from '../../../src/llm/cost';

describe('batch prices', () => {
  test('default to exactly half the sync prices, cached input included', () => {
    expect(halfDecimal('0.0123456789')).toBe('0.00617283945');
    expect(halfDecimal('3')).toBe('1.5');
    expect(halfDecimal(0)).toBe('0');
    expect(batchPrices({ price_input_per_1k: '0.003', price_output_per_1k: '0.015', params: { cached_input_per_1k: '0.0003' } })).toEqual({
      price_input_per_1k: '0.0015',
      price_output_per_1k: '0.0075',
      params: { cached_input_per_1k: '0.00015' },
    });
  });

  test('an engine’s own batch prices win', () => {
    const p = batchPrices({ price_input_per_1k: '0.003', price_output_per_1k: '0.015', batch_price_input_per_1k: '0.002', batch_price_output_per_1k: '0.01' });
    expect(p).toMatchObject({ price_input_per_1k: '0.002', price_output_per_1k: '0.01' });
  });

  test('a call at the default batch price costs exactly half the sync call', () => {
    const usage = { promptTokens: 1234, completionTokens: 567, cachedTokens: 0 };
    const sync = { price_input_per_1k: '0.0025', price_output_per_1k: '0.01' };
    expect(computeCostUsd(usage, sync)).toBe('0.008755');
    expect(computeCostUsd(usage, batchPrices(sync))).toBe('0.0043775');
  });
});
