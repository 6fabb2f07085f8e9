import { ConfigError, loadConfig } from '../../src/config';

describe('QUALITY_MIN_PAIRABLE_VALUES', () => {
  it('defaults to 20 (the quality thresholds’ default) and accepts 0 (no evidence rule)', () => {
    expect(loadConfig({}).QUALITY_MIN_PAIRABLE_VALUES).toBe(20);
    expect(loadConfig({ QUALITY_MIN_PAIRABLE_VALUES: '0' }).QUALITY_MIN_PAIRABLE_VALUES).toBe(0);
    expect(loadConfig({ QUALITY_MIN_PAIRABLE_VALUES: '200' }).QUALITY_MIN_PAIRABLE_VALUES).toBe(200);
  });

  it('rejects anything else, naming the setting', () => {
    for (const bad of ['-1', '2.5', 'few']) expect(() => loadConfig({ QUALITY_MIN_PAIRABLE_VALUES: bad })).toThrow(/QUALITY_MIN_PAIRABLE_VALUES/);
    expect(() => loadConfig({ QUALITY_MIN_PAIRABLE_VALUES: 'few' })).toThrow(ConfigError);
  });
});
