import { loadConfig } from '../../../src/config';

test('CONFLICT_SWEEP_INTERVAL_MS: a minute by default, validated between 1 s and 1 h', () => {
  expect(loadConfig({}).CONFLICT_SWEEP_INTERVAL_MS).toBe(60_000);
  expect(loadConfig({ CONFLICT_SWEEP_INTERVAL_MS: '5000' }).CONFLICT_SWEEP_INTERVAL_MS).toBe(5000);
  expect(() => loadConfig({ CONFLICT_SWEEP_INTERVAL_MS: '500' })).toThrow(/CONFLICT_SWEEP_INTERVAL_MS/);
  expect(() => loadConfig({ CONFLICT_SWEEP_INTERVAL_MS: 'soon' })).toThrow(/CONFLICT_SWEEP_INTERVAL_MS/);
});
