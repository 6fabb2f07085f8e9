import crypto from 'node:crypto';
import fc from 'fast-check';
import type { TestApi } from '../api';

/**
 * The rows a fuzz run aims at, made through the API itself: a project with items, an engine on
 * the fake OpenAI server, a pre-annotation job, a task, a suggestion. Generated requests name
 * these ids half of the time (`byName`), so they reach the handlers' deeper paths, not only 404s.
 */
export interface FuzzWorld {
  tenantId: string;
  tokens: { admin: string; viewer: string };
  /** Pools by property name; an array's name pools its items. */
  byName: Record<string, fc.Arbitrary<unknown>>;
  replaceByName: Record<string, fc.Arbitrary<unknown>>;
}

const LABELS = ['positive', 'negative', 'neutral'];

export async function seedFuzzWorld(api: TestApi, fakeBaseUrl: string): Promise<FuzzWorld> {
  const tenantId = `fuzz-${crypto.randomBytes(3).toString('hex')}`;
  const admin = api.tokenFor({ tenantId, sub: 'fuzz-admin', roles: ['admin'] });
  const viewer = api.tokenFor({ tenantId, sub: 'fuzz-viewer', roles: ['viewer'] });
  const post = async (path: string, json: unknown, token = admin) => {
    const res = await api.request(`/api/v1${path}`, { method: 'POST', token, json });
    const body = (await res.json()) as any;
    if (res.status >= 300) throw new Error(`seeding ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };

  const engine = await post('/annotation/engines', { name: 'fuzz-engine', provider: 'openai', model: 'fake-gpt', base_url: fakeBaseUrl });
  const engine2 = await post('/annotation/engines', { name: 'fuzz-engine-2', provider: 'openai', model: 'fake-gpt-2', base_url: fakeBaseUrl });
  const project = await post('/projects', {
    name: 'Fuzzed',
    label_schema: { type: 'single_label', labels: LABELS },
    routing: { default_engine_id: engine.id, annotators_per_item: 2 },
  });
  await post(`/projects/${project.id}/items`, {
    items: Array.from({ length: 6 }, (_, i) => ({ external_id: `fuzz-${i}`, data: { text: `item ${i} is ${LABELS[i % 3]}` }, gold_label: { label: LABELS[i % 3] } })),
  });
  const items = (await (await api.request(`/api/v1/projects/${project.id}/items`, { token: admin })).json()) as { items: { id: string }[] };
  const itemIds = items.items.map((i) => i.id);
  for (const [user, role] of [['ann-1', 'annotator'], ['ann-2', 'annotator'], ['rev-1', 'reviewer'], ['fuzz-admin', 'manager']]) {
    await post(`/projects/${project.id}/members`, { user_id: user, role });
  }
  const job = await post('/annotation/pre-annotate', { project_id: project.id, item_ids: itemIds.slice(0, 2) });
  // Long jobs paused at once, so pause, resume, cancel and budget meet running jobs, not only ended ones.
  await post(`/projects/${project.id}/items`, { items: Array.from({ length: 300 }, (_, i) => ({ data: { text: `bulk ${i}` } })) });
  const jobs = [job.job_id];
  for (let i = 0; i < 3; i++) {
    const long = await post('/annotation/pre-annotate', { project_id: project.id, batch_size: 1, concurrency: 1 });
    await post(`/annotation/pre-annotate/${long.job_id}/pause`, {});
    jobs.push(long.job_id);
  }
  // Several tasks: the fuzzer cancels some, others stay open for claims, releases and decisions.
  const tasks = [];
  for (const [i, kind] of (['annotate', 'annotate', 'review', 'review', 'annotate'] as const).entries()) {
    tasks.push(await post('/annotation/tasks/assign', { project_id: project.id, item_ids: [itemIds[i]], kind, assignee_id: 'fuzz-admin' }));
  }
  const suggestion = await post('/annotation/suggestion', { project_id: project.id, item_id: itemIds[1] });
  // Two annotators disagree on one item: a conflict.
  const annotator = (sub: string) => api.tokenFor({ tenantId, sub, roles: ['annotator'] });
  await post('/annotation/submit', { item_id: itemIds[2], value: { label: 'positive' } }, annotator('ann-1'));
  const second = await post('/annotation/submit', { item_id: itemIds[2], value: { label: 'negative' } }, annotator('ann-2'));

  const ids = (...values: (string | undefined)[]) => fc.constantFrom(...values.filter((v): v is string => Boolean(v)));
  return {
    tenantId,
    tokens: { admin, viewer },
    byName: {
      project_id: ids(project.id),
      item_id: ids(...itemIds),
      source_item_id: ids(...itemIds),
      item_ids: ids(...itemIds),
      engine_id: ids(engine.id, engine2.id),
      default_engine_id: ids(engine.id, engine2.id),
      engine_ids: ids(engine.id, engine2.id),
      fallback_engine_ids: ids(engine.id, engine2.id),
      job_id: ids(...jobs),
      task_id: ids(...tasks.map((t) => t.task_id)),
      suggestion_id: ids(suggestion.suggestion_id),
      conflict_id: ids(second.conflict?.conflict_id),
      user_id: ids('ann-1', 'ann-2', 'rev-1'),
      assignee_id: ids('ann-1', 'ann-2', 'fuzz-admin'),
      annotator_id: ids('ann-1', 'ann-2'),
      reviewer_id: ids('rev-1'),
      label: ids(...LABELS),
      labels: ids(...LABELS),
      gold_label: fc.constantFrom(...LABELS.map((label) => ({ label }))),
    },
    // The server connects to base_url: keep it on the fake provider (or a closed local port).
    replaceByName: {
      base_url: fc.constantFrom(fakeBaseUrl, 'http://127.0.0.1:9/v1'),
      // Not 1 rpm: an engine throttled that hard makes a compare wait minutes (each call up to LLM_TIMEOUT_MS).
      rpm: fc.integer({ min: 600, max: 1_000_000 }),
      tpm: fc.integer({ min: 1_000_000, max: 100_000_000 }),
    },
  };
}
