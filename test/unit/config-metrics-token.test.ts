import { ConfigError, loadConfig } from '../../src/config';

describe('METRICS_TOKEN', () => {
  it('is unset by default (metrics open) and trimmed when given', () => {
    expect(loadConfig({}).METRICS_TOKEN).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: '   ' }).METRICS_TOKEN).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: ' prometheus-scrape-0123456789 ' }).METRICS_TOKEN).toBe('prometheus-scrape-0123456789');
  });

  it.each([
    ['too short', 'short-token'],
    ['inner space', 'prometheus scrape 0123456789'],
    ['non-ASCII', 'prometheus-scrape-ü-0123456789'],
  ])('rejects a token that is %s, naming the setting', (_why, value) => {
    expect(() => loadConfig({ METRICS_TOKEN: value })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_TOKEN: value })).toThrow(/METRICS_TOKEN/);
  });
});
