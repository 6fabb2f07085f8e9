import { ConfigError, loadConfig } from '../../src/config';

describe('LLM_RETRIES_PER_ENGINE', () => {
  it('defaults to 6 and accepts 0..20', () => {
    expect(loadConfig({}).LLM_RETRIES_PER_ENGINE).toBe(8);
    expect(loadConfig({ LLM_RETRIES_PER_ENGINE: '0' }).LLM_RETRIES_PER_ENGINE).toBe(0);
    expect(loadConfig({ LLM_RETRIES_PER_ENGINE: '20' }).LLM_RETRIES_PER_ENGINE).toBe(20);
  });

  it('rejects anything else, naming the setting', () => {
    for (const bad of ['-1', '21', '2.5', 'many']) {
      expect(() => loadConfig({ LLM_RETRIES_PER_ENGINE: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ LLM_RETRIES_PER_ENGINE: bad })).toThrow(/LLM_RETRIES_PER_ENGINE/);
    }
  });
});
