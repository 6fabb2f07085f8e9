import crypto from 'node:crypto';
import { readFinalLabelSources } from '../../src/data/final-labels';
import { decideFinalLabel } from '../../src/quality/final-label';
import { tokenFor, type TestApi } from '../helpers/api';
import type { TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

/**
 * One final label per item, with its provenance, through HTTP on a real stack (API, Temporal dev
 * server with this service's workers, PostgreSQL, a fake OpenAI provider): AI pre-annotation,
 * gold labels, human submissions, an automatic and an expert resolution each set the item's
 * `final_labels` row in their own transaction, by precedence (expert > gold > auto > consensus >
 * AI); the items list, the job's results and the quality report all read it.
 */
let tdb: TestDatabase;
let api: TestApi;
let stack: TestStack;
let fake: FakeOpenAI;

const TENANT = 'final-tenant';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const annotator = (sub: string) => tokenFor({ tenantId: TENANT, sub, roles: ['annotator'] });
const LABELS = ['positive', 'negative', 'neutral'];

beforeAll(async () => {
  stack = await startTestStack({ PRE_ANNOTATION_BATCH_SIZE: '10' });
  ({ tdb, api } = stack);
  fake = await startFakeOpenAI({ latencyMs: 0 });
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

async function call(path: string, init: { method?: string; json?: unknown; token?: string } = {}) {
  const res = await api.request(`/api/v1${path}`, { method: init.method ?? 'GET', token: init.token ?? manager, ...(init.json ? { json: init.json } : {}) });
  return { status: res.status, body: (await res.json()) as any };
}

async function newProject(routing: Record<string, unknown>) {
  const project = await call('/projects', { method: 'POST', json: { name: 'Finals', label_schema: { type: 'single_label', labels: LABELS }, routing } });
  expect(project.status).toBe(201);
  return project.body.id as string;
}

const submit = (sub: string, itemId: string, label: string) => call('/annotation/submit', { method: 'POST', token: annotator(sub), json: { item_id: itemId, value: { label } } });

async function finals(projectId: string): Promise<Map<string, any>> {
  const list = await call(`/projects/${projectId}/items?page_size=100`);
  expect(list.status).toBe(200);
  return new Map(list.body.items.map((i: any) => [i.id, i.final_label]));
}

test('each decision sets the final label by precedence, with provenance; items, job results and the report use it', async () => {
  const projectId = await newProject({ annotators_per_item: 2 });
  expect((await call(`/projects/${projectId}/members`, { method: 'POST', json: { user_id: 'boss', role: 'manager' } })).status).toBe(201);
  // The fake provider answers the label the text names (confidence 0.9: auto-accepted).
  const texts = [
    { key: 'gold', text: 'A positive review, they say.', gold_label: { label: 'negative' } },
    { key: 'ai', text: 'Simply positive.' },
    { key: 'single', text: 'Rather negative.' },
    { key: 'unanimous', text: 'Quite neutral.' },
    { key: 'expert', text: 'Positive or not?' },
    { key: 'auto', text: 'Negative, sort of.' },
  ];
  const imported = await call(`/projects/${projectId}/items`, { method: 'POST', json: { items: texts.map(({ text, gold_label }) => ({ data: { text }, ...(gold_label ? { gold_label } : {}) })) } });
  expect(imported.status).toBe(201);
  const id = Object.fromEntries(texts.map((t, i) => [t.key, imported.body.item_ids[i] as string]));
  // Gold is the final label from the import on.
  expect((await finals(projectId)).get(id.gold)).toMatchObject({ status: 'labelled', value: { label: 'negative' }, source: 'gold', method: 'gold', decided_by: 'gold' });

  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engineId, tenant_id: TENANT, name: 'fake', provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl, params: JSON.stringify({ cache: false }) });
  const started = await call('/annotation/pre-annotate', { method: 'POST', json: { project_id: projectId, engine_id: engineId } });
  expect(started.status).toBe(202);
  const jobId = started.body.job_id as string;
  await waitFor(() => call(`/annotation/pre-annotate/${jobId}/progress`), (r) => r.body.status === 'completed', 30_000);

  let f = await finals(projectId);
  expect(f.get(id.gold)).toMatchObject({ source: 'gold' }); // gold outranks the AI
  for (const key of ['ai', 'single', 'unanimous', 'expert', 'auto']) {
    expect(f.get(id[key])).toMatchObject({ status: 'labelled', source: 'ai', method: 'ai', decided_by: engineId, engine_id: engineId, confidence: 0.9 });
  }
  expect(f.get(id.ai).value).toEqual({ label: 'positive' });

  // Humans outrank the AI: one annotator is a consensus of one; two who agree are unanimous.
  expect((await submit('h1', id.single, 'neutral')).status).toBe(201);
  expect((await submit('h1', id.unanimous, 'neutral')).status).toBe(201);
  expect((await submit('h2', id.unanimous, 'neutral')).status).toBe(201);
  expect((await submit('h1', id.gold, 'positive')).status).toBe(201); // gold still outranks a human
  // 2–1: the conflict is resolved automatically by majority vote.
  expect((await submit('h1', id.auto, 'negative')).status).toBe(201);
  expect((await submit('h2', id.auto, 'negative')).status).toBe(201);
  const autoConflict = (await submit('h3', id.auto, 'positive')).body.conflict;
  expect(autoConflict).toMatchObject({ created: true });
  // 1–1: a tie is unresolved until the expert decides.
  expect((await submit('h1', id.expert, 'positive')).status).toBe(201);
  const tie = (await submit('h2', id.expert, 'negative')).body.conflict;
  expect(tie).toMatchObject({ created: true });

  const autoDone = await waitFor(() => tdb.db('conflicts').where({ id: autoConflict.conflict_id }).first(), (c) => c.status === 'auto_resolved', 30_000);
  f = await finals(projectId);
  expect(f.get(id.single)).toMatchObject({ status: 'labelled', value: { label: 'neutral' }, source: 'consensus', method: 'single', decided_by: 'consensus' });
  expect(f.get(id.single).inputs).toEqual([{ annotation_id: expect.any(String), annotator_id: 'h1', label: 'neutral' }]);
  expect(f.get(id.unanimous)).toMatchObject({ value: { label: 'neutral' }, source: 'consensus', method: 'unanimous', details: { votes: 2, total: 2 } });
  expect(f.get(id.gold)).toMatchObject({ source: 'gold', value: { label: 'negative' } });
  expect(f.get(id.auto)).toMatchObject({ status: 'labelled', value: { label: 'negative' }, source: 'auto', method: 'majority_vote', decided_by: 'system', conflict_id: autoConflict.conflict_id });
  expect(f.get(id.auto).decided_at).toBe(new Date(autoDone.resolved_at).toISOString());
  expect(f.get(id.auto).inputs.map((i: any) => i.annotator_id).sort()).toEqual(['h1', 'h2', 'h3']);
  expect(f.get(id.expert)).toMatchObject({ status: 'unresolved', value: null, source: 'consensus', method: 'tie', details: { tied_labels: ['positive', 'negative'] } });

  // The expert resolves the tie: the final label is the expert's, with who and why.
  const task = await waitFor(() => tdb.db('conflicts').where({ id: tie.conflict_id }).first(), (c) => c.task_id !== null, 30_000);
  await waitFor(() => call(`/annotation/tasks/${task.task_id}`), (r) => r.body.assignee_id === 'boss', 30_000);
  const boss = tokenFor({ tenantId: TENANT, sub: 'boss', roles: ['reviewer'] });
  const resolved = await call('/annotation/conflicts/resolve', { method: 'POST', token: boss, json: { conflict_id: tie.conflict_id, value: { label: 'neutral' }, reason: 'guideline 4' } });
  expect(resolved.status).toBe(200);
  f = await finals(projectId);
  expect(f.get(id.expert)).toMatchObject({ status: 'labelled', value: { label: 'neutral' }, source: 'expert', method: 'expert', decided_by: 'boss', conflict_id: tie.conflict_id, details: { reason: 'guideline 4' } });

  // The job's results show each item's final label beside its AI annotation.
  const results = await call(`/annotation/pre-annotate/${jobId}/results?page_size=100`);
  const resultOf = new Map(results.body.items.map((r: any) => [r.item_id, r]));
  expect((resultOf.get(id.ai) as any).final_label).toMatchObject({ source: 'ai', value: { label: 'positive' } });
  expect((resultOf.get(id.expert) as any)).toMatchObject({ value: { label: 'positive' }, final_label: { source: 'expert', value: { label: 'neutral' } } });

  // The report measures the final labels: their distribution, their sources, and the AI against
  // the labels someone or something else decided (an AI-only final label is not compared with itself).
  const validation = await call('/annotation/validate', { method: 'POST', json: { project_id: projectId } });
  expect(validation.status).toBe(202);
  await waitFor(() => call(`/annotation/jobs/${validation.body.job_id}`), (r) => r.body.status === 'completed', 30_000);
  const report = await call(`/annotation/quality-report/${projectId}`);
  expect(report.status).toBe(200);
  const body = report.body;
  expect(body.label_distribution.counts).toEqual({ positive: 1, negative: 2, neutral: 3 });
  const dash = await call(`/annotation/quality-metrics?project_id=${projectId}`);
  expect(dash.body.latest.coverage.final_label_sources).toEqual({ gold: 1, ai: 1, consensus: 2, auto: 1, expert: 1 });
  const aiValues = new Map(results.body.items.map((r: any) => [r.item_id, r.value.label]));
  const compared = [...f].filter(([, fl]) => fl.source !== 'ai');
  const correct = compared.filter(([itemId, fl]) => aiValues.get(itemId) === fl.value.label).length;
  expect(body.ai.accuracy_vs_final).toBeCloseTo(correct / compared.length, 10);
  expect(compared.length).toBe(5);
}, 120_000);

test('concurrent submissions on one item: the final label reflects every committed annotation', async () => {
  const projectId = await newProject({ annotators_per_item: 1 });
  const imported = await call(`/projects/${projectId}/items`, { method: 'POST', json: { items: [{ data: { text: 'Contended.' } }] } });
  const itemId = imported.body.item_ids[0] as string;
  const labels = ['positive', 'positive', 'negative', 'positive', 'neutral', 'positive', 'negative', 'positive'];
  const answers = await Promise.all(labels.map((label, i) => submit(`c${i}`, itemId, label)));
  expect(answers.map((a) => a.status)).toEqual(labels.map(() => 201));
  const row = (await finals(projectId)).get(itemId);
  expect(row).toMatchObject({ status: 'labelled', value: { label: 'positive' }, source: 'consensus', method: 'majority', details: { votes: 5, total: 8 } });
  expect(row.inputs.map((i: any) => i.annotation_id).sort()).toEqual(answers.map((a) => a.body.annotation_id).sort());
  // …and equals what the pure rule makes of the committed sources.
  const { labels: order, sources } = await readFinalLabelSources(tdb.db, projectId, [itemId]);
  expect(decideFinalLabel(sources[0], order)).toMatchObject({ label: 'positive', method: 'majority' });
}, 60_000);

test('a resolution and its final label commit together: while the final label cannot be written, the conflict stays open; then both land', async () => {
  const projectId = await newProject({ annotators_per_item: 2 });
  expect((await call(`/projects/${projectId}/members`, { method: 'POST', json: { user_id: 'boss', role: 'manager' } })).status).toBe(201);
  const imported = await call(`/projects/${projectId}/items`, { method: 'POST', json: { items: [{ data: { text: 'Split.' } }] } });
  const itemId = imported.body.item_ids[0] as string;
  await submit('h1', itemId, 'positive');
  const tie = (await submit('h2', itemId, 'negative')).body.conflict;
  const withTask = await waitFor(() => tdb.db('conflicts').where({ id: tie.conflict_id }).first(), (c) => c.task_id !== null, 30_000);
  await waitFor(() => call(`/annotation/tasks/${withTask.task_id}`), (r) => r.body.assignee_id === 'boss', 30_000);

  // Break the world: no expert final label can be written (the resolution's activity fails and retries).
  const constraint = `no_expert_${crypto.randomUUID().slice(0, 8)}`;
  await tdb.db.raw(`ALTER TABLE final_labels ADD CONSTRAINT ${constraint} CHECK (source <> 'expert' OR item_id <> '${itemId}') NOT VALID`);
  const boss = tokenFor({ tenantId: TENANT, sub: 'boss', roles: ['reviewer'] });
  const pending = call('/annotation/conflicts/resolve', { method: 'POST', token: boss, json: { conflict_id: tie.conflict_id, value: { label: 'neutral' } } });
  await new Promise((r) => setTimeout(r, 2500));
  const during = await tdb.db('conflicts').where({ id: tie.conflict_id }).first('status');
  const finalDuring = (await finals(projectId)).get(itemId);
  await tdb.db.raw(`ALTER TABLE final_labels DROP CONSTRAINT ${constraint}`);
  const resolved = await pending;

  expect(during.status).toBe('open');
  expect(finalDuring).toMatchObject({ status: 'unresolved', source: 'consensus' });
  expect(resolved.status).toBe(200);
  expect(resolved.body).toMatchObject({ status: 'resolved', resolved_by: 'boss' });
  expect((await finals(projectId)).get(itemId)).toMatchObject({ source: 'expert', value: { label: 'neutral' }, decided_by: 'boss' });
}, 90_000);

test('validation repairs final labels written around the API (an SQL bulk load) and, once they are current, writes none', async () => {
  const projectId = await newProject({ annotators_per_item: 1 });
  const imported = await call(`/projects/${projectId}/items`, { method: 'POST', json: { items: [{ data: { text: 'Loaded by SQL.' } }, { data: { text: 'Through the API.' } }] } });
  const [bulk, viaApi] = imported.body.item_ids as string[];
  await tdb.db('annotations').insert(
    ['negative', 'negative', 'neutral'].map((label, i) => ({
      id: crypto.randomUUID(),
      tenant_id: TENANT,
      project_id: projectId,
      item_id: bulk,
      source: 'human',
      annotator_id: `bulk-${i}`,
      value: JSON.stringify({ label }),
      status: 'submitted',
    })),
  );
  expect((await submit('h1', viaApi, 'positive')).status).toBe(201);
  expect((await finals(projectId)).get(bulk)).toBeNull();

  const validate = async () => {
    const v = await call('/annotation/validate', { method: 'POST', json: { project_id: projectId } });
    await waitFor(() => call(`/annotation/jobs/${v.body.job_id}`), (r) => r.body.status === 'completed', 30_000);
  };
  await validate();
  expect((await finals(projectId)).get(bulk)).toMatchObject({ source: 'consensus', method: 'majority', value: { label: 'negative' } });
  const written = await tdb.db('final_labels').where({ project_id: projectId }).orderBy('item_id').select('item_id', 'updated_at');
  await validate();
  expect(await tdb.db('final_labels').where({ project_id: projectId }).orderBy('item_id').select('item_id', 'updated_at')).toEqual(written);
}, 60_000);
