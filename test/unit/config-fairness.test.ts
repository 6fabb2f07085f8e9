import { ConfigError, loadConfig, parseFairnessWeights } from '../../src/config';
import { workflowPriority } from '../../src/temporal/priority';

test('TENANT_FAIRNESS_WEIGHTS: tenant=weight pairs, clamped range, clear errors', () => {
  expect(parseFairnessWeights(undefined)).toEqual({ ok: true, weights: {} });
  expect(parseFairnessWeights('acme=2, globex=0.5')).toEqual({ ok: true, weights: { acme: 2, globex: 0.5 } });
  expect(parseFairnessWeights('acme=0')).toMatchObject({ ok: false });
  expect(parseFairnessWeights('acme')).toMatchObject({ ok: false });
  expect(parseFairnessWeights('acme=1e3')).toMatchObject({ ok: false });
  expect(loadConfig({ TENANT_FAIRNESS_WEIGHTS: 'acme=3' }).tenantFairnessWeights).toEqual({ acme: 3 });
  expect(() => loadConfig({ TENANT_FAIRNESS_WEIGHTS: 'acme=5000' })).toThrow(ConfigError);
});

test('workflow priority: people first, batch jobs last, the tenant as fairness key with its weight', () => {
  expect(workflowPriority('review', 'acme')).toEqual({ priorityKey: 1, fairnessKey: 'acme' });
  expect(workflowPriority('batch', 'acme', { acme: 2 })).toEqual({ priorityKey: 4, fairnessKey: 'acme', fairnessWeight: 2 });
  expect(workflowPriority('validation', 'globex', { acme: 2 }).priorityKey).toBeLessThan(workflowPriority('batch', 'globex').priorityKey!);
});
