import { ConfigError, loadConfig } from '../../src/config';

describe('TEMPORAL_METRICS_BIND', () => {
  it('defaults to port 9465 on HOST, beside the worker metrics port', () => {
    expect(loadConfig({}).temporalMetricsBind).toBe('0.0.0.0:9465');
    expect(loadConfig({ HOST: '127.0.0.1' }).temporalMetricsBind).toBe('127.0.0.1:9465');
    expect(loadConfig({ HOST: 'localhost' }).temporalMetricsBind).toBe('127.0.0.1:9465');
    expect(loadConfig({ HOST: '::' }).temporalMetricsBind).toBe('[::]:9465');
    expect(loadConfig({ HOST: 'worker.internal' }).temporalMetricsBind).toBe('0.0.0.0:9465');
  });

  it('takes an IP and a port, or off', () => {
    expect(loadConfig({ TEMPORAL_METRICS_BIND: '10.0.0.5:9100' }).temporalMetricsBind).toBe('10.0.0.5:9100');
    expect(loadConfig({ TEMPORAL_METRICS_BIND: ' [::1]:9465 ' }).temporalMetricsBind).toBe('[::1]:9465');
    expect(loadConfig({ TEMPORAL_METRICS_BIND: 'off' }).temporalMetricsBind).toBeUndefined();
    expect(loadConfig({ TEMPORAL_METRICS_BIND: 'OFF' }).temporalMetricsBind).toBeUndefined();
  });

  // The SDK core parses a socket address: a host name would fail only when the worker starts.
  it.each(['localhost:9465', '0.0.0.0', ':9465', '0.0.0.0:0', '0.0.0.0:70000', '::1:9465', '[127.0.0.1]:9465', 'http://0.0.0.0:9465'])(
    'rejects %s, naming the setting',
    (value) => {
      expect(() => loadConfig({ TEMPORAL_METRICS_BIND: value })).toThrow(ConfigError);
      expect(() => loadConfig({ TEMPORAL_METRICS_BIND: value })).toThrow(/TEMPORAL_METRICS_BIND/);
    },
  );
});
