import { metricsScrapeAllowed, openMetricsWarning } from '../../../src/metrics/token';

const TOKEN = 'scrape-token-0123456789abcdef';

describe('metricsScrapeAllowed', () => {
  it('lets everyone scrape when no token is configured', () => {
    expect(metricsScrapeAllowed(undefined, undefined)).toBe(true);
    expect(metricsScrapeAllowed('Bearer whatever', undefined)).toBe(true);
  });

  it('accepts exactly "Bearer <token>" (scheme case-insensitive)', () => {
    expect(metricsScrapeAllowed(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(metricsScrapeAllowed(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(metricsScrapeAllowed(`Bearer  ${TOKEN} `, TOKEN)).toBe(true);
  });

  it('refuses a missing, wrong, prefixed, extended or differently framed token', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.toUpperCase()}`,
      `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}`,
      TOKEN,
      `Bearer ${TOKEN} extra`,
    ]) {
      expect(metricsScrapeAllowed(header, TOKEN)).toBe(false);
    }
  });
});

describe('openMetricsWarning', () => {
  it('warns in production when the metrics are open, and only then', () => {
    expect(openMetricsWarning({ NODE_ENV: 'production' })).toMatch(/METRICS_TOKEN is unset/);
    expect(openMetricsWarning({ NODE_ENV: 'production', METRICS_TOKEN: TOKEN })).toBeUndefined();
    expect(openMetricsWarning({ NODE_ENV: 'development' })).toBeUndefined();
  });
});
