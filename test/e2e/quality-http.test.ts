import crypto from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../src/llm/builtin-engines';
import { createValidationActivities } from '../../activities/validation';
import { VALIDATION_JOB_TYPE } from '../../src/jobs/job-types';
import { startValidation } from '../../src/jobs/start-validation';
import { progressQuery as validationProgressQuery } from '../../workflows/validation';
import { errorOf, tokenFor, type TestApi } from '../helpers/api';
import { JOB_ACCEPTED_FIELDS, jobsCompletedCount } from '../helpers/job-metrics';
import type { TestDatabase } from '../helpers/db';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Quality validation through HTTP on a real stack (API, Temporal dev server with this service's
 * workers, PostgreSQL): published reference values, alerts once per report and metric, and
 * inconsistencies on seeded data.
 */
let tdb: TestDatabase;
let env: TestWorkflowEnvironment;
let api: TestApi;
let stack: TestStack;

const TENANT = 'qa-tenant';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const viewer = tokenFor({ tenantId: TENANT, sub: 'vic', roles: ['viewer'] });
const stranger = tokenFor({ tenantId: 'globex', sub: 'eve', roles: ['admin'] });

beforeAll(async () => {
  stack = await startTestStack({ TEMPORAL_UI_URL: 'http://ui.test:8233' });
  ({ tdb, env, api } = stack);
});
afterAll(async () => {
  await stack?.stop();
});

async function createProject(labels: string[], token = manager, level: { ordered?: boolean; scale?: { type: 'interval' | 'ratio' } } = {}) {
  const res = await api.request('/api/v1/projects', { method: 'POST', token, json: { name: 'Quality', label_schema: { type: 'single_label', labels, ...level } } });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string };
}

async function importItems(projectId: string, items: { text: string; gold_label?: unknown }[]) {
  const res = await api.request(`/api/v1/projects/${projectId}/items`, {
    method: 'POST',
    token: manager,
    json: { items: items.map((it, i) => ({ external_id: `x-${i}`, data: { text: it.text }, ...(it.gold_label ? { gold_label: it.gold_label } : {}) })) },
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { item_ids: string[] }).item_ids;
}

/** Human annotations written as the submit path stores them: latest per (item, annotator) counts. */
async function annotate(projectId: string, rows: { itemId: string; annotator: string; label: string; at?: string }[]) {
  if (!rows.length) return;
  await tdb.db('annotations').insert(
    rows.map((r) => ({
      id: crypto.randomUUID(),
      tenant_id: TENANT,
      project_id: projectId,
      item_id: r.itemId,
      source: 'human',
      annotator_id: r.annotator,
      value: JSON.stringify({ label: r.label }),
      status: 'submitted',
      ...(r.at ? { created_at: r.at, updated_at: r.at } : {}),
    })),
  );
}

async function validate(body: Record<string, unknown>) {
  const res = await api.request('/api/v1/annotation/validate', { method: 'POST', token: manager, json: body });
  expect(res.status).toBe(202);
  return (await res.json()) as { job_id: string; workflow_id: string; status: string; total: number | null; links: Record<string, string> };
}

async function waitForJob(jobId: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await api.request(`/api/v1/annotation/jobs/${jobId}`, { token: manager })).json()) as Record<string, any>;
    if (['completed', 'failed'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} stuck at ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function report(projectId: string) {
  const res = await api.request(`/api/v1/annotation/quality-report/${projectId}`, { token: viewer });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

async function inconsistencies(projectId: string, query = '') {
  const res = await api.request(`/api/v1/annotation/inconsistencies/${projectId}?page_size=100${query}`, { token: viewer });
  expect(res.status).toBe(200);
  return (await res.json()) as { items: Record<string, any>[]; total: number };
}

/**
 * Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: 4 observers × 12
 * units with missing values; published nominal alpha 0.743.
 */
const EXAMPLE_C: Record<string, (number | null)[]> = {
  A: [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  B: [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, null],
  C: [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, 3],
  D: [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
};
const UNIT_TEXTS = [
  'The parcel arrived on a rainy Monday morning.',
  'Customer support resolved the billing question quickly.',
  'A loose screw rattled inside the left speaker.',
  'Setup instructions were printed in four languages.',
  'The blender struggled with frozen mango chunks.',
  'Our hotel room overlooked a quiet courtyard garden.',
  'Firmware update 2.1 fixed the bluetooth pairing bug.',
  'The jacket sleeves were two centimetres too short.',
  'Delivery tracking stopped updating after customs.',
  'Battery life roughly matched the advertised figure.',
  'The museum audio guide skipped several exhibits.',
  'Replacement filters are hard to find in local shops.',
];

test('Krippendorff 2011 example C through HTTP: the report shows nominal alpha 0.743; one alert per report and metric', async () => {
  const project = await createProject(['1', '2', '3', '4', '5']);
  // Before any validation: 404, and the dashboard is empty.
  expect((await api.request(`/api/v1/annotation/quality-report/${project.id}`, { token: viewer })).status).toBe(404);
  const items = await importItems(project.id, UNIT_TEXTS.map((text) => ({ text })));
  await annotate(
    project.id,
    Object.entries(EXAMPLE_C).flatMap(([annotator, values]) =>
      values.flatMap((v, u) => (v === null ? [] : [{ itemId: items[u], annotator, label: String(v) }])),
    ),
  );

  const completedBefore = await jobsCompletedCount(VALIDATION_JOB_TYPE, 'completed');
  const started = await validate({ project_id: project.id });
  // The same answer as every job start: the row's status; no total for a project-wide validation (it counts when it starts).
  expect(Object.keys(started).sort()).toEqual(JOB_ACCEPTED_FIELDS);
  expect(started).toMatchObject({ status: 'pending', total: null });
  expect(started.links.results).toBe(`/api/v1/annotation/quality-report/${project.id}`);
  expect(started.workflow_id).toBe(`validation/${TENANT}/${started.job_id}`);
  expect(started.links.temporal_ui).toMatch(/^http:\/\/ui\.test:8233\/namespaces\/default\/workflows\/validation%2F/);
  const job = await waitForJob(started.job_id);
  expect(job).toMatchObject({ type: 'validation', status: 'completed' });
  expect(await jobsCompletedCount(VALIDATION_JOB_TYPE, 'completed')).toBe(completedBefore + 1);
  expect(job.result).toMatchObject({ items: 12, passed: true, alerts: 1 });

  const r = await report(project.id);
  expect(Object.keys(r).sort()).toEqual(
    // `evidence` (issue 12): the values each thresholded metric rests on.
    ['project_id', 'computed_at', 'agreement', 'annotators', 'ai', 'inconsistencies', 'label_distribution', 'evidence', 'thresholds', 'passed'].sort(),
  );
  expect(Object.keys(r.agreement).sort()).toEqual(['cohen_kappa', 'fleiss_kappa', 'krippendorff_alpha', 'percent_agreement']);
  expect(r.agreement.krippendorff_alpha.nominal.toFixed(3)).toBe('0.743');
  expect(r.agreement.krippendorff_alpha.nominal).toBeCloseTo(0.743421, 5);
  expect(r.agreement.cohen_kappa.map((p: any) => `${p.annotator_a}${p.annotator_b}`)).toEqual(['AB', 'AC', 'AD', 'BC', 'BD', 'CD']);
  expect(r.agreement.cohen_kappa.find((p: any) => p.annotator_a === 'A' && p.annotator_b === 'B').n).toBe(9);
  expect(r.annotators.map((a: any) => [a.annotator_id, a.items])).toEqual([['A', 9], ['B', 10], ['C', 11], ['D', 11]]);
  for (const a of r.annotators) expect(Object.keys(a).sort()).toEqual(['agreement_with_consensus', 'annotator_id', 'gold_accuracy', 'items']);
  expect(r.annotators[0].gold_accuracy).toBeNull(); // no gold items
  expect(r.thresholds.krippendorff_alpha).toEqual({ alert: 0.667, warning: 0.8 });
  expect(r.passed).toBe(true); // 0.743 is a warning (< 0.8), not an alert (< 0.667)
  expect(r.ai).toEqual({ acceptance_rate: null, accuracy_vs_final: null, engines: [] });
  // 11, not 12: unit 6 (1, 2, 3, 4) is a four-way tie and has no final label (issue 12; it used to count as '1', the first label).
  expect(r.label_distribution.total).toBe(11);
  expect(r.inconsistencies).toBe(0);

  // The workflow's progress query answers after the run, too.
  const progress = await env.client.workflow.getHandle(started.workflow_id).query(validationProgressQuery);
  expect(progress).toMatchObject({ status: 'completed', phase: 'done', total: 12, processed: 12 });

  // Validate again: a second report with its own single alert; events: one per report and metric.
  const again = await validate({ project_id: project.id });
  await waitForJob(again.job_id);
  const alerts = await tdb.db('quality_alerts').where({ project_id: project.id }).orderBy('created_at');
  expect(alerts.map((a) => [a.metric, a.severity])).toEqual([['krippendorff_alpha', 'warning'], ['krippendorff_alpha', 'warning']]);
  expect(new Set(alerts.map((a) => a.report_id)).size).toBe(2);
  const events = await tdb.db('events').where({ project_id: project.id, type: 'quality.alert' });
  expect(events).toHaveLength(2);
  expect(events[0].payload).toMatchObject({ metric: 'krippendorff_alpha', severity: 'warning', threshold: 0.8 });
  // A retried alert activity (same report) emits nothing more.
  const acts = createValidationActivities({ db: tdb.db });
  const retry = await acts.raiseQualityAlerts({
    tenantId: TENANT,
    projectId: project.id,
    jobId: again.job_id,
    reportId: alerts[1].report_id,
    alerts: [{ metric: 'krippendorff_alpha', value: 0.743, severity: 'warning', threshold: 0.8 }],
  });
  expect(retry.emitted).toBe(0);
  expect(await tdb.db('events').where({ project_id: project.id, type: 'quality.alert' }).count({ n: '*' })).toEqual([{ n: '2' }]);
  expect(await tdb.db('quality_alerts').where({ project_id: project.id }).count({ n: '*' })).toEqual([{ n: '2' }]);
  // Job lifecycle events.
  const lifecycle = await tdb.db('events').where({ project_id: project.id, type: 'job.completed' });
  expect(lifecycle.map((e) => e.payload.job_type)).toEqual(['validation', 'validation']);

  // Dashboard metrics: history of alpha over both reports, per annotator detail.
  const noProject = await api.request('/api/v1/annotation/quality-metrics', { token: viewer });
  expect(noProject.status).toBe(422);
  expect((await errorOf(noProject)).details.map((d) => d.field)).toContain('project_id');
  const dash = (await (await api.request(`/api/v1/annotation/quality-metrics?project_id=${project.id}`, { token: viewer })).json()) as any;
  expect(dash.history).toHaveLength(2);
  expect(dash.history.map((h: any) => h.scope)).toEqual([{ kind: 'project' }, { kind: 'project' }]);
  for (const h of dash.history) expect(h.krippendorff_alpha).toBeCloseTo(0.743421, 5);
  expect(dash.latest.coverage).toMatchObject({ items: 12, pairable_items: 11, human_ratings: 41, items_with_final_label: 11, unresolved_items: 1 });
  expect(dash.latest.alerts).toEqual([{ metric: 'krippendorff_alpha', value: expect.any(Number), severity: 'warning', threshold: 0.8 }]);
  expect(dash.latest.annotators[0]).toHaveProperty('consensus_items');

  // Scoped validation: a subset of items, then a job's items.
  const subset = await validate({ project_id: project.id, item_ids: items.slice(0, 6) });
  expect(subset).toMatchObject({ status: 'pending', total: 6 });
  expect((await waitForJob(subset.job_id)).result.items).toBe(6);
  const ofJob = await validate({ project_id: project.id, job_id: subset.job_id });
  expect((await waitForJob(ofJob.job_id)).result.items).toBe(6);

  // Small pages, one page per run: three runs (continue-as-new carries the sums), the same alpha.
  const small = await startValidation(tdb.db, env.client, api.deps.config, {
    tenantId: TENANT, userId: 'mia', projectId: project.id, trigger: 'validate', pageSize: 5, pagesPerRun: 1,
  });
  const smallResult = await env.client.workflow.getHandle(small.workflowId).result();
  expect(smallResult.items).toBe(12);
  expect((await env.client.workflow.getHandle(small.workflowId).query(validationProgressQuery)).runs).toBe(2);
  const smallReport = await tdb.db('quality_reports').where({ job_id: small.jobId }).first('report');
  expect(smallReport.report.agreement.krippendorff_alpha.nominal).toBeCloseTo(1 - (39 * 8) / (1600 - 384), 10);
  expect(smallReport.report.agreement.cohen_kappa).toEqual(r.agreement.cohen_kappa);

  // Tenancy and validation.
  expect((await api.request(`/api/v1/annotation/quality-report/${project.id}`, { token: stranger })).status).toBe(404);
  expect((await api.request(`/api/v1/annotation/inconsistencies/${project.id}`, { token: stranger })).status).toBe(404);
  const post = (token: string, json: unknown) => api.request('/api/v1/annotation/validate', { method: 'POST', token, json });
  expect((await post(stranger, { project_id: project.id })).status).toBe(404);
  expect((await post(viewer, { project_id: project.id })).status).toBe(403);
  const foreignJob = await post(manager, { project_id: project.id, job_id: crypto.randomUUID() });
  expect(foreignJob.status).toBe(422);
  expect((await errorOf(foreignJob)).details[0].field).toBe('job_id');
  const foreignItem = await post(manager, { project_id: project.id, item_ids: [crypto.randomUUID()] });
  expect(foreignItem.status).toBe(422);
  expect((await errorOf(foreignItem)).details[0].field).toBe('item_ids');
  // Every quality route is in the OpenAPI document.
  const spec = (await (await api.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
  for (const [path, method] of [
    ['/api/v1/annotation/validate', 'post'],
    ['/api/v1/annotation/quality-metrics/refresh', 'post'],
    ['/api/v1/annotation/quality-report/{project_id}', 'get'],
    ['/api/v1/annotation/inconsistencies/{project_id}', 'get'],
    ['/api/v1/annotation/quality-metrics', 'get'],
  ]) {
    expect(spec.paths[path]?.[method]).toBeDefined();
  }
  const refresh = await api.request('/api/v1/annotation/quality-metrics/refresh', { method: 'POST', token: manager, json: { project_id: project.id } });
  expect(refresh.status).toBe(202);
  expect((await waitForJob(((await refresh.json()) as any).job_id)).result.items).toBe(12);
});

/** Deterministic distinct texts: random words, so no two are near-duplicates. */
function distinctTexts(n: number, seed: number): string[] {
  let s = seed;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 4294967296);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return Array.from({ length: n }, () =>
    Array.from({ length: 9 }, () => Array.from({ length: 4 + Math.floor(rnd() * 5) }, () => letters[Math.floor(rnd() * 26)]).join('')).join(' '),
  );
}

test('the level of measurement: an ordered project is judged on ordinal alpha (0.815, no alert), a numeric scale reports interval alpha; one pairable item is insufficient_data', async () => {
  const annotateExampleC = async (projectId: string) => {
    const items = await importItems(projectId, UNIT_TEXTS.map((text) => ({ text })));
    await annotate(
      projectId,
      Object.entries(EXAMPLE_C).flatMap(([annotator, values]) => values.flatMap((v, u) => (v === null ? [] : [{ itemId: items[u], annotator, label: String(v) }]))),
    );
  };
  // Ordered labels listed highest first: ranks follow the schema, so this is example C reversed (same α).
  const ordered = await createProject(['5', '4', '3', '2', '1'], manager, { ordered: true });
  const shown = (await (await api.request(`/api/v1/projects/${ordered.id}`, { token: viewer })).json()) as Record<string, any>;
  expect(shown.label_schema).toEqual({ type: 'single_label', labels: ['5', '4', '3', '2', '1'], ordered: true });
  await annotateExampleC(ordered.id);
  const job = await waitForJob((await validate({ project_id: ordered.id })).job_id);
  expect(job.result).toMatchObject({ items: 12, passed: true, alerts: 0 }); // nominal 0.743 would warn; ordinal 0.815 ≥ 0.8
  const r = await report(ordered.id);
  expect(r.agreement.krippendorff_alpha).toMatchObject({ level: 'ordinal', pairable_values: 40, insufficient_data: false });
  expect(r.agreement.krippendorff_alpha.nominal).toBeCloseTo(0.743421, 5);
  expect(r.agreement.krippendorff_alpha.ordinal).toBeCloseTo(0.8153875, 6);
  expect(r.agreement.krippendorff_alpha.value).toBe(r.agreement.krippendorff_alpha.ordinal);
  const ab = r.agreement.cohen_kappa.find((p: any) => p.annotator_a === 'A' && p.annotator_b === 'B');
  expect(ab).toEqual({ annotator_a: 'A', annotator_b: 'B', kappa: expect.any(Number), kappa_linear: expect.any(Number), kappa_quadratic: expect.any(Number), n: 9, insufficient_data: true }); // 2 × 9 = 18 values < 20
  expect(r.evidence).toMatchObject({ min_pairable_values: 20, metrics: { krippendorff_alpha: { values: 40, insufficient_data: false } } });
  expect(r.thresholds.min_pairable_values).toBe(20);
  // Label order: the schema's, although JSON lists integer-like keys in numeric order.
  expect(r.label_distribution.order).toEqual(['5', '4', '3', '2', '1']);
  const dash = (await (await api.request(`/api/v1/annotation/quality-metrics?project_id=${ordered.id}`, { token: viewer })).json()) as Record<string, any>;
  expect(dash.history[0].krippendorff_alpha).toBeCloseTo(0.8153875, 6);
  expect(dash.latest.alerts).toEqual([]);

  const interval = await createProject(['1', '2', '3', '4', '5'], manager, { scale: { type: 'interval' } });
  await annotateExampleC(interval.id);
  await waitForJob((await validate({ project_id: interval.id })).job_id);
  const ri = await report(interval.id);
  expect(ri.agreement.krippendorff_alpha).toMatchObject({ level: 'interval' });
  expect(ri.agreement.krippendorff_alpha.interval).toBeCloseTo(0.849107, 5);
  expect(ri.agreement.krippendorff_alpha.value).toBe(ri.agreement.krippendorff_alpha.interval);

  // A scale whose labels are not numbers is a 422 naming the label.
  const bad = await api.request('/api/v1/projects', { method: 'POST', token: manager, json: { name: 'Q', label_schema: { type: 'single_label', labels: ['1', 'two'], scale: { type: 'interval' } } } });
  expect(bad.status).toBe(422);

  // One pairable item that disagrees: α is 0-ish, but on 2 values it cannot fail the report.
  const tiny = await createProject(['pos', 'neg']);
  const [only] = await importItems(tiny.id, [{ text: 'A single item two annotators disagree on.' }]);
  await annotate(tiny.id, [{ itemId: only, annotator: 'A', label: 'pos' }, { itemId: only, annotator: 'B', label: 'neg' }]);
  const tinyJob = await waitForJob((await validate({ project_id: tiny.id })).job_id);
  expect(tinyJob.result).toMatchObject({ passed: true, alerts: 0 });
  const rt = await report(tiny.id);
  expect(rt.agreement.krippendorff_alpha).toMatchObject({ level: 'nominal', pairable_values: 2, insufficient_data: true });
  expect(rt.evidence.metrics.percent_agreement).toEqual({ values: 2, insufficient_data: true });
  expect(rt.passed).toBe(true);
});

test('inconsistencies: near-duplicates with different labels (not distinct items, not same-label copies), annotator drift, AI-vs-human disagreement', async () => {
  const labels = ['positive', 'negative', 'neutral'];
  const project = await createProject(labels);
  const DAY1 = '2026-11-20T10:00:00Z';
  const DAY2 = '2026-11-21T10:00:00Z';
  const texts = [
    'The battery died after two days of light use.',
    'the battery died after two days of LIGHT use!!',
    'Great screen, I watch films on it every evening.',
    'Great screen; I watch films on it every evening',
    ...distinctTexts(60, 42),
  ];
  const items = await importItems(project.id, texts.map((text) => ({ text })));
  const rows: { itemId: string; annotator: string; label: string; at?: string }[] = [];
  // Near-duplicate pair with different labels, and one with the same label.
  for (const a of ['h1', 'h2']) {
    rows.push({ itemId: items[0], annotator: a, label: 'negative', at: DAY1 });
    rows.push({ itemId: items[1], annotator: a, label: 'neutral', at: DAY1 });
    rows.push({ itemId: items[2], annotator: a, label: 'positive', at: DAY1 });
    rows.push({ itemId: items[3], annotator: a, label: 'positive', at: DAY1 });
  }
  // 60 distinct items: h1 and h2 agree; h3 agrees on day 1 and mostly disagrees on day 2.
  const truth = (k: number) => labels[k % 3];
  for (let k = 0; k < 60; k++) {
    const at = k < 30 ? DAY1 : DAY2;
    const item = items[4 + k];
    rows.push({ itemId: item, annotator: 'h1', label: truth(k), at });
    rows.push({ itemId: item, annotator: 'h2', label: truth(k), at });
    const drifts = k >= 30 && k < 50;
    rows.push({ itemId: item, annotator: 'h3', label: drifts ? labels[(k + 1) % 3] : truth(k), at });
  }
  await annotate(project.id, rows);
  // The built-in engine calls every "negative" item of day 1 "neutral" (10 items).
  await tdb.db('annotations').insert(
    Array.from({ length: 30 }, (_, k) => ({
      id: crypto.randomUUID(),
      tenant_id: TENANT,
      project_id: project.id,
      item_id: items[4 + k],
      source: 'ai',
      annotator_id: BUILTIN_LOCAL_ENGINE_ID,
      engine_id: BUILTIN_LOCAL_ENGINE_ID,
      value: JSON.stringify({ label: truth(k) === 'negative' ? 'neutral' : truth(k) }),
      confidence: 0.9,
      status: k % 2 ? 'auto_accepted' : 'needs_review',
    })),
  );

  // Feedback on live suggestions of the same engine: 5 accepted, 3 rejected, 2 modified.
  await tdb.db('suggestions').insert(
    Array.from({ length: 10 }, (_, k) => ({
      id: crypto.randomUUID(),
      tenant_id: TENANT,
      project_id: project.id,
      item_id: items[4 + k],
      text: texts[4 + k],
      engine_id: BUILTIN_LOCAL_ENGINE_ID,
      value: JSON.stringify({ label: 'positive' }),
      confidence: 0.7,
      created_by: 'h1',
      feedback_action: k < 5 ? 'accept' : k < 8 ? 'reject' : 'modify',
      feedback_by: 'h1',
      feedback_at: DAY2,
    })),
  );

  const started = await validate({ project_id: project.id });
  const job = await waitForJob(started.job_id);
  expect(job.status).toBe('completed');

  const near = await inconsistencies(project.id, '&kind=near_duplicate');
  expect(near.total).toBe(1);
  expect(near.items[0].item_ids).toEqual([items[0], items[1]].sort());
  expect(near.items[0].details.labels).toEqual({ [items[0]]: 'negative', [items[1]]: 'neutral' });
  expect(near.items[0].details.similarity).toBeGreaterThanOrEqual(0.8);

  const drift = await inconsistencies(project.id, '&kind=annotator_drift');
  expect(drift.items.map((d) => d.annotator_id)).toEqual(['h3']);
  expect(drift.items[0].details.latest).toMatchObject({ items: 30, agreement: 10 / 30 });
  expect(drift.items[0].details.before).toMatchObject({ items: 30, agreement: 1 });

  const ai = await inconsistencies(project.id, '&kind=ai_human_disagreement');
  expect(ai.items.map((f) => [f.details.direction, f.label, f.details.engine_id]).sort()).toEqual([
    ['ai_label', 'neutral', BUILTIN_LOCAL_ENGINE_ID],
    ['final_label', 'negative', BUILTIN_LOCAL_ENGINE_ID],
  ]);

  // The dashboard shows h3's agreement per day.
  const dash = (await (await api.request(`/api/v1/annotation/quality-metrics?project_id=${project.id}`, { token: viewer })).json()) as any;
  const h3 = dash.latest.annotator_windows.find((a: any) => a.annotator_id === 'h3');
  expect(h3.windows).toEqual([
    { window_start: '2026-11-20T00:00:00.000Z', items: 30, agreement: 1 },
    { window_start: '2026-11-21T00:00:00.000Z', items: 30, agreement: 10 / 30 },
  ]);

  const all = await inconsistencies(project.id);
  expect(all.total).toBe(4);
  const r = await report(project.id);
  expect(r.inconsistencies).toBe(4);
  const engine = r.ai.engines[0];
  // 15 AI annotations auto-accepted, 15 pending review; suggestions: 5 accepted, 5 rejected or modified.
  expect(engine).toMatchObject({ engine_id: BUILTIN_LOCAL_ENGINE_ID, annotations: 30, compared: 30, accepted: 20, rejected: 5, pending: 15 });
  expect(engine.accuracy_vs_final).toBeCloseTo(20 / 30, 10);
  expect(r.ai.acceptance_rate).toBe(0.8);

  // Validating again records the findings once more for the new report, never twice for one job.
  const second = await validate({ project_id: project.id });
  await waitForJob(second.job_id);
  expect((await inconsistencies(project.id)).total).toBe(4);
  expect(await tdb.db('inconsistencies').where({ project_id: project.id }).count({ n: '*' })).toEqual([{ n: '8' }]);
});

test('disagreeing items open conflicts through the conflict workflow when the project wants ≥ 2 annotators per item', async () => {
  const project = await createProject(['yes', 'no']);
  await tdb.db('projects').where({ id: project.id }).update({ routing: tdb.db.raw(`routing || '{"annotators_per_item": 2}'::jsonb`) });
  const items = await importItems(project.id, distinctTexts(3, 7).map((text) => ({ text })));
  await annotate(project.id, [
    { itemId: items[0], annotator: 'a', label: 'yes' },
    { itemId: items[0], annotator: 'b', label: 'no' },
    { itemId: items[1], annotator: 'a', label: 'yes' },
    { itemId: items[1], annotator: 'b', label: 'yes' },
    { itemId: items[2], annotator: 'a', label: 'no' },
    { itemId: items[2], annotator: 'b', label: 'yes' },
  ]);
  const started = await validate({ project_id: project.id });
  const job = await waitForJob(started.job_id);
  expect(job.result.conflicts_opened).toBe(2);
  const conflicts = await tdb.db('conflicts').where({ project_id: project.id }).select('item_id', 'detected_by');
  expect(conflicts.map((c) => c.item_id).sort()).toEqual([items[0], items[2]].sort());
  expect(conflicts.every((c) => c.detected_by === 'validation')).toBe(true);
});
