import { llmEngineLabels, metrics } from '../../../src/metrics';
import { BoundedLabel, OVERFLOW_LABEL, httpMethodLabel, httpRouteLabel } from '../../../src/metrics/labels';

describe('BoundedLabel', () => {
  it('keeps the first max distinct values and maps every later new one to "other"', () => {
    const label = new BoundedLabel(3);
    expect(['a', 'b', 'a', 'c'].map((v) => label.value(v))).toEqual(['a', 'b', 'a', 'c']);
    expect(label.value('d')).toBe(OVERFLOW_LABEL);
    expect(label.value('e')).toBe(OVERFLOW_LABEL);
    // Values seen before the budget ran out keep their own series.
    expect(label.value('b')).toBe('b');
  });
});

describe('HTTP labels', () => {
  it('names the served methods and folds the rest into one value', () => {
    expect(['GET', 'POST', 'PUT', 'DELETE'].map(httpMethodLabel)).toEqual(['GET', 'POST', 'PUT', 'DELETE']);
    expect(httpMethodLabel('PROPFIND')).toBe(OVERFLOW_LABEL);
    expect(httpMethodLabel('MKCALENDAR')).toBe(OVERFLOW_LABEL);
  });

  it('uses the route template, or one value for every unmatched path', () => {
    expect(httpRouteLabel('/api/v1/projects/:project_id')).toBe('/api/v1/projects/:project_id');
    expect(httpRouteLabel(undefined)).toBe('unmatched');
    expect(httpRouteLabel('')).toBe('unmatched');
  });
});

describe('LLM series', () => {
  it('are labelled by engine id and provider: the exposition names no engine', async () => {
    const engine = { id: '6f1c1c3e-0000-4000-8000-000000000001', name: 'acme-secret-engine', provider: 'openai', model: 'acme-model' };
    metrics.llmCalls.inc({ ...llmEngineLabels(engine), outcome: 'ok' });
    const text = await metrics.registry.metrics();
    expect(text).toContain(`anno_llm_calls_total{engine_id="${engine.id}",provider="openai",outcome="ok"} 1`);
    expect(text).not.toContain('acme');
  });
});
