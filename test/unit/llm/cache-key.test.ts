import { cacheKey, cacheTtlSeconds, stableJson } from '../../../src/llm/cache';
import { buildMessages } from '../../../src/llm/prompt';
import type { ProjectContext } from '../../../src/llm/types';

const project: ProjectContext = { tenantId: 't1', projectId: 'p', labelSchema: { type: 'single_label', labels: ['a', 'b'] } };
const engine = { id: 'e1', provider: 'openai' as const, model: 'm', base_url: 'http://x/v1', params: { temperature: 0, max_tokens: 20 } };
const key = (over: Partial<typeof engine> = {}, text = 'hello', tenantId = 't1', projectId = 'p') =>
  cacheKey({ tenantId, projectId, engine: { ...engine, ...over }, messages: buildMessages({ project, item: { text } }), labelSchema: project.labelSchema });

describe('cacheKey', () => {
  it('is a sha256 hex digest, stable for equal inputs whatever the key order of params', () => {
    expect(key()).toMatch(/^[0-9a-f]{64}$/);
    expect(key()).toBe(key({ params: { max_tokens: 20, temperature: 0 } }));
  });

  it('changes with the tenant, project, engine, model, base URL, params and prompt', () => {
    const base = key();
    const variants = [
      key({}, 'hello', 't2'),
      key({}, 'hello', 't1', 'p2'),
      key({ id: 'e2' }),
      key({ model: 'm2' }),
      key({ base_url: 'http://y/v1' }),
      key({ params: { temperature: 0.5, max_tokens: 20 } }),
      key({}, 'hello!'),
    ];
    for (const v of variants) expect(v).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });
});

describe('cacheTtlSeconds', () => {
  it('uses the engine override, the default, and never caches the local engine', () => {
    expect(cacheTtlSeconds({ provider: 'openai', params: {} }, 3600)).toBe(3600);
    expect(cacheTtlSeconds({ provider: 'openai', params: { cache_ttl_seconds: 60 } }, 3600)).toBe(60);
    expect(cacheTtlSeconds({ provider: 'openai', params: { cache: false } }, 3600)).toBe(0);
    expect(cacheTtlSeconds({ provider: 'local', params: {} }, 3600)).toBe(0);
  });
});

describe('stableJson', () => {
  it('sorts object keys at every depth and keeps array order', () => {
    expect(stableJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });
});
