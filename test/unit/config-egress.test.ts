import { ConfigError, loadConfig } from '../../src/config';

const PROD = { NODE_ENV: 'production', JWT_SECRET: 'a-production-secret-of-length' };

describe('ENGINE_ALLOWED_HOSTS', () => {
  it('defaults to public-only in production and to any elsewhere', () => {
    expect(loadConfig(PROD).engineHostPolicy).toEqual({ kind: 'public' });
    expect(loadConfig({ NODE_ENV: 'development' }).engineHostPolicy).toEqual({ kind: 'any' });
    expect(loadConfig({ NODE_ENV: 'test', ENGINE_ALLOWED_HOSTS: '' }).engineHostPolicy).toEqual({ kind: 'any' });
  });

  it('parses a list, replacing the default', () => {
    expect(loadConfig({ ...PROD, ENGINE_ALLOWED_HOSTS: 'api.openai.com,10.0.0.0/8' }).engineHostPolicy).toMatchObject({ kind: 'list', names: ['api.openai.com'] });
    expect(loadConfig({ NODE_ENV: 'test', ENGINE_ALLOWED_HOSTS: '*' }).engineHostPolicy).toEqual({ kind: 'any' });
  });

  it('rejects a malformed entry, naming the setting', () => {
    for (const bad of ['http://api.openai.com', 'host:8080', '10.0.0.0/99', ' , ']) {
      expect(() => loadConfig({ ENGINE_ALLOWED_HOSTS: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ ENGINE_ALLOWED_HOSTS: bad })).toThrow(/ENGINE_ALLOWED_HOSTS/);
    }
  });

  it('refuses an OPENAI_BASE_URL the policy would refuse', () => {
    expect(() => loadConfig({ ...PROD, OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', OPENAI_MODEL: 'm' })).toThrow(/OPENAI_BASE_URL/);
    expect(loadConfig({ ...PROD, ENGINE_ALLOWED_HOSTS: '127.0.0.1', OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', OPENAI_MODEL: 'm' }).OPENAI_BASE_URL).toBe('http://127.0.0.1:8000/v1');
    expect(loadConfig({ NODE_ENV: 'development', OPENAI_BASE_URL: 'http://127.0.0.1:8000/v1', OPENAI_MODEL: 'm' }).OPENAI_BASE_URL).toBeDefined();
  });
});
