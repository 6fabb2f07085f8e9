import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { errorOf, tokenFor, type TestApi } from '../helpers/api';
import type { TestDatabase } from '../helpers/db';
import { startFakeOpenAI, type FakeOpenAI } from '../helpers/fake-openai';
import { startTestStack, type TestStack } from '../helpers/stack';
import { waitFor } from '../helpers/wait';

/**
 * The `anno` client commands spawned as a user runs them (node --import tsx src/cli.ts …) against
 * a real stack (API, Temporal dev server with this service's workers, PostgreSQL, a fake OpenAI
 * provider), and what they rest on over HTTP: the export of items with their final labels'
 * provenance from a real flow (AI pre-annotation, a human submission, a consensus, an expert's
 * resolution of a tie, a gold label) in jsonl, csv and Label Studio JSON; and the audit trail.
 */
let tdb: TestDatabase;
let api: TestApi;
let stack: TestStack;
let fake: FakeOpenAI;
let dir: string;

const TENANT = 'cli-tenant';
const manager = tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'] });
const tok = (sub: string, roles: ('annotator' | 'reviewer' | 'manager')[] = ['annotator']) => tokenFor({ tenantId: TENANT, sub, roles });
const ROOT = path.resolve(__dirname, '../..');

beforeAll(async () => {
  stack = await startTestStack({ PRE_ANNOTATION_BATCH_SIZE: '2', LLM_CONCURRENCY: '2', TEMPORAL_UI_URL: 'http://ui.test:8233' });
  ({ tdb, api } = stack);
  fake = await startFakeOpenAI({ latencyMs: 0 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anno-cli-'));
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Spawns `anno <args>` with the API's URL and a token in the environment; `onStdout` sees output as it comes. */
function anno(args: string[], opts: { token?: string | null; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ANNO_URL: api.baseUrl };
    if (opts.token !== null) env.ANNO_TOKEN = opts.token ?? manager;
    else delete env.ANNO_TOKEN;
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const jsonLines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const resultOf = (run: Run) => jsonLines(run.stdout).find((l) => l.type === 'result');

async function get(p: string, token = manager) {
  const res = await api.request(`/api/v1${p}`, { token });
  return { status: res.status, res, text: await res.text() };
}
async function post(p: string, json: unknown, token = manager) {
  const res = await api.request(`/api/v1${p}`, { method: 'POST', token, json });
  return { status: res.status, body: (await res.json()) as any };
}

/** RFC 4180 rows (quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    } else cell += c;
  }
  return rows;
}

async function setupProject(name: string) {
  const project = await post('/projects', { name, label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] }, routing: { annotators_per_item: 2, conflict_min_margin: 0 } });
  expect(project.status).toBe(201);
  const projectId = project.body.id as string;
  for (const [user_id, role] of [['a1', 'annotator'], ['a2', 'annotator'], ['boss', 'manager']]) {
    expect((await post(`/projects/${projectId}/members`, { user_id, role })).status).toBe(201);
    await new Promise((r) => setTimeout(r, 5));
  }
  const engineId = crypto.randomUUID();
  await tdb.db('engines').insert({ id: engineId, tenant_id: TENANT, name: `fake-${name}`, provider: 'openai', model: 'fake-gpt', base_url: fake.baseUrl, params: JSON.stringify({ cache: false }) });
  return { projectId, engineId };
}

test('import, pre-annotate --watch, human and expert decisions, then export in every format with provenance; audit over HTTP', async () => {
  const { projectId, engineId } = await setupProject('Export');
  const texts = ['Great service, "really" great.', 'Late, broken,\nand rude.', 'It was fine.', 'Refund took a month.', 'Five stars!'];
  const file = path.join(dir, 'items.ndjson');
  fs.writeFileSync(
    file,
    [...texts.map((text, i) => JSON.stringify({ external_id: `e-${i}`, data: { text } })), '', JSON.stringify({ external_id: 'e-gold', data: { text: 'Gold text' }, gold_label: { label: 'neutral' } })].join('\n') + '\n',
  );

  // anno import: plain summary line when not on a terminal; again → every item a duplicate.
  const imported = await anno(['import', '--project', projectId, '--batch-size', '4', file]);
  expect(imported.stderr).toMatch(/import .*\d+%/); // plain progress lines on stderr
  expect(imported.stdout).toMatch(new RegExp(`^imported 6 items into ${projectId}: 6 inserted, 0 duplicates \\(2 requests, [\\d.]+s, \\d+ items/s\\)\\n$`));
  expect(imported.code).toBe(0);
  const again = await anno(['import', '--project', projectId, '--json', file]);
  expect(again.code).toBe(0);
  expect(resultOf(again)).toMatchObject({ project_id: projectId, items: 6, inserted: 0, duplicates: 6, requests: 1 });

  // anno pre-annotate --watch --json: JSON progress lines, then the result.
  const watched = await anno(['pre-annotate', '--project', projectId, '--engine', engineId, '--watch', '--json', '--interval', '200']);
  expect(watched.code).toBe(0);
  const lines = jsonLines(watched.stdout);
  expect(lines[0]).toMatchObject({ type: 'started', total: 6 });
  const jobId = lines[0].job_id as string;
  expect(lines.filter((l) => l.type === 'progress').length).toBeGreaterThan(0);
  expect(lines.at(-2)).toMatchObject({ type: 'progress', label: 'pre_annotation', done: 6, total: 6, status: 'completed' });
  expect(resultOf(watched)).toMatchObject({ job_id: jobId, status: 'completed', processed: 6, total: 6, temporal_ui: expect.stringContaining('ui.test') });

  const items = JSON.parse((await get(`/projects/${projectId}/items?page_size=10`)).text).items as any[];
  const byExt = new Map(items.map((i) => [i.external_id as string, i]));
  // Humans: item e-0 gets one submission (consensus of one), e-1 a 1-1 tie settled by the expert.
  expect((await post('/annotation/submit', { item_id: byExt.get('e-0').id, value: { label: 'negative' }, lead_time_ms: 900 }, tok('a1'))).status).toBe(201);
  await post('/annotation/submit', { item_id: byExt.get('e-1').id, value: { label: 'negative' } }, tok('a1'));
  const tie = await post('/annotation/submit', { item_id: byExt.get('e-1').id, value: { label: 'neutral' } }, tok('a2'));
  const conflictId = tie.body.conflict.conflict_id as string;
  await waitFor(() => tdb.db('conflicts').where({ id: conflictId }).first(), (c) => Boolean(c.task_id));
  const resolved = await post('/annotation/conflicts/resolve', { conflict_id: conflictId, value: { label: 'negative' }, reason: 'rude is negative' }, tok('boss', ['manager']));
  expect(resolved.status).toBe(200);

  // jsonl, final labels: exactly the final_labels rows, item order, provenance of each kind.
  const jsonl = await get(`/projects/${projectId}/export?format=jsonl`);
  expect(jsonl.status).toBe(200);
  expect(jsonl.res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  expect(jsonl.res.headers.get('x-export-items')).toBe('6');
  const exported = jsonLines(jsonl.text);
  expect(exported.map((l) => l.external_id)).toEqual(['e-0', 'e-1', 'e-2', 'e-3', 'e-4', 'e-gold']);
  const finals = new Map((await tdb.db('final_labels').where({ project_id: projectId })).map((f: any) => [f.item_id, f]));
  for (const line of exported) {
    const f: any = finals.get(line.item_id);
    expect(line.annotations).toBeUndefined();
    if (!f) expect(line.final_label).toBeNull();
    else expect(line.final_label).toMatchObject({ source: f.source, method: f.method, decided_by: f.decided_by, value: f.value, conflict_id: f.conflict_id, engine_id: f.engine_id });
  }
  const ext = new Map(exported.map((l) => [l.external_id as string, l]));
  expect(ext.get('e-1').final_label).toMatchObject({ source: 'expert', method: 'expert', decided_by: 'boss', conflict_id: conflictId, value: { label: 'negative' }, details: expect.objectContaining({ reason: 'rude is negative' }) });
  expect(ext.get('e-0').final_label).toMatchObject({ source: 'consensus', decided_by: 'consensus', value: { label: 'negative' } });
  expect(ext.get('e-gold').final_label).toMatchObject({ source: 'gold', method: 'gold', value: { label: 'neutral' } });
  const aiDecided = exported.filter((l) => l.final_label?.source === 'ai');
  for (const l of aiDecided) expect(l.final_label).toMatchObject({ engine_id: engineId, confidence: expect.any(Number) });

  // labels=all adds every annotation: the AI's with engine and confidence, the humans' with annotator and status.
  const all = jsonLines((await get(`/projects/${projectId}/export?format=jsonl&labels=all`)).text);
  const allE1 = all.find((l) => l.external_id === 'e-1');
  expect(allE1.annotations.filter((a: any) => a.source === 'ai')).toEqual([expect.objectContaining({ engine_id: engineId, annotator_id: expect.any(String), confidence: expect.any(Number) })]);
  expect(allE1.annotations.filter((a: any) => a.source === 'human').map((a: any) => [a.annotator_id, a.value.label])).toEqual([['a1', 'negative'], ['a2', 'neutral']]);
  expect(all.every((l) => l.annotations.every((a: any) => typeof a.status === 'string'))).toBe(true);

  // csv: a header, one row per item, quoting that survives commas, quotes and line breaks.
  const csv = await get(`/projects/${projectId}/export?format=csv`);
  expect(csv.res.headers.get('content-type')).toMatch(/^text\/csv/);
  const rows = parseCsv(csv.text);
  expect(rows[0]).toEqual(['item_id', 'external_id', 'text', 'data', 'gold_label', 'final_status', 'final_label', 'final_value', 'final_source', 'final_method', 'decided_by', 'decided_at', 'conflict_id', 'engine_id', 'confidence']);
  expect(rows.length).toBe(7);
  const csvE1 = rows.find((r) => r[1] === 'e-1')!;
  expect(csvE1[2]).toBe('Late, broken,\nand rude.');
  expect(csvE1.slice(5, 11)).toEqual(['labelled', 'negative', '{"label":"negative"}', 'expert', 'expert', 'boss']);
  expect(csvE1[12]).toBe(conflictId);
  expect(rows.find((r) => r[1] === 'e-0')![2]).toBe('Great service, "really" great.');
  expect(parseCsv((await get(`/projects/${projectId}/export?format=csv&labels=all`)).text)[0].at(-1)).toBe('annotations');

  // label-studio: tasks with data, AI predictions and the final label as the ground truth (labels=all adds the humans').
  const ls = JSON.parse((await get(`/projects/${projectId}/export?format=label-studio&labels=all`)).text) as any[];
  expect(ls).toHaveLength(6);
  const lsE1 = ls.find((t) => t.meta.external_id === 'e-1');
  expect(lsE1.data).toEqual({ text: texts[1] });
  expect(lsE1.predictions).toEqual([expect.objectContaining({ model_version: engineId, score: expect.any(Number), result: [expect.objectContaining({ from_name: 'label', to_name: 'text', type: 'choices' })] })]);
  expect(lsE1.annotations.map((a: any) => [a.completed_by, a.ground_truth, a.result[0].value.choices])).toEqual([
    ['boss', true, ['negative']],
    ['a1', false, ['negative']],
    ['a2', false, ['neutral']],
  ]);
  const lsFinal = (await get(`/projects/${projectId}/export?format=label-studio`)).text;
  expect(JSON.parse(lsFinal).find((t: any) => t.meta.external_id === 'e-1').annotations).toHaveLength(1);

  // The way back: the Label Studio export imported into another project through anno import; its final labels become gold labels.
  const lsFile = path.join(dir, 'tasks.json');
  fs.writeFileSync(lsFile, lsFinal);
  const other = await post('/projects', { name: 'From Label Studio', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } });
  const fromLs = await anno(['import', '--project', other.body.id, '--format', 'label-studio', '--json', lsFile]);
  expect(fromLs.code).toBe(0);
  expect(resultOf(fromLs)).toMatchObject({ items: 6, inserted: 6, duplicates: 0 });
  const moved = JSON.parse((await get(`/projects/${other.body.id}/items?page_size=10`)).text).items as any[];
  expect(moved.map((i) => [i.external_id, i.data.text, i.gold_label])).toEqual(
    exported.map((l) => [l.external_id, l.data.text, l.final_label?.value ?? null]),
  );

  // Bad queries: 422 in the documented shape; another tenant's project: 404.
  for (const q of ['format=xml', 'labels=some', 'format=']) {
    const bad = await api.request(`/api/v1/projects/${projectId}/export?${q}`, { token: manager });
    expect(bad.status).toBe(422);
    expect(await errorOf(bad)).toMatchObject({ code: 'VALIDATION_ERROR', correlation_id: expect.any(String), details: [expect.objectContaining({ field: q.startsWith('format') ? 'format' : 'labels' })] });
  }
  expect((await get(`/projects/${projectId}/export`, tokenFor({ tenantId: 'other', sub: 'x', roles: ['admin'] }))).status).toBe(404);

  // anno export to a file: the same bytes as the HTTP export; its summary counts the rows (a quoted line break is no row).
  const out = path.join(dir, 'export.csv');
  const cliExport = await anno(['export', '--project', projectId, '--format', 'csv', '--out', out, '--json']);
  expect(cliExport.code).toBe(0);
  expect(fs.readFileSync(out, 'utf8')).toBe(csv.text);
  expect(resultOf(cliExport)).toMatchObject({ records: 6, format: 'csv', bytes: Buffer.byteLength(csv.text) });
  const toStdout = await anno(['export', '--project', projectId, '--format', 'label-studio']);
  expect(JSON.parse(toStdout.stdout)).toHaveLength(6);
  expect(toStdout.stderr).toMatch(/exported 6 items/);

  // The audit trail: who did what, with the workflow's decisions, filters and access rules.
  const audit = async (q: string, token = manager) => {
    const r = await get(`/annotation/audit?${q}`, token);
    return { status: r.status, body: JSON.parse(r.text) };
  };
  const trail = await audit(`project_id=${projectId}&page_size=500`);
  expect(trail.status).toBe(200);
  const actions = trail.body.items.map((e: any) => `${e.actor}:${e.action}`);
  expect(actions).toEqual(expect.arrayContaining(['mia:project.created', 'mia:items.imported', 'a1:annotation.submitted', 'a2:annotation.submitted', 'system:conflict.detected', 'boss:conflict.resolved']));
  const times = trail.body.items.map((e: any) => e.created_at);
  expect([...times].sort().reverse()).toEqual(times); // newest first
  const onConflict = await audit(`entity=conflict&entity_id=${conflictId}`);
  expect(onConflict.body.items.map((e: any) => e.action).sort()).toEqual(expect.arrayContaining(['conflict.detected', 'conflict.resolved']));
  expect(onConflict.body.items.find((e: any) => e.action === 'conflict.resolved')).toMatchObject({ actor: 'boss', project_id: projectId, entity: 'conflict', details: expect.objectContaining({ reason: 'rude is negative' }) });
  const itemTrail = (await audit(`project_id=${projectId}&item_id=${byExt.get('e-1').id}`)).body.items.map((e: any) => `${e.actor}:${e.action}`);
  expect(itemTrail).toEqual(expect.arrayContaining(['a1:annotation.submitted', 'a2:annotation.submitted', 'system:conflict.detected']));
  expect(itemTrail).not.toContain('mia:items.imported');
  expect((await audit(`project_id=${projectId}&actor=a2`)).body).toMatchObject({ total: 1, items: [expect.objectContaining({ action: 'annotation.submitted' })] });
  expect((await audit(`project_id=${projectId}&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).body.total).toBe(0);
  expect((await audit(`project_id=${projectId}&page_size=2&page=2`)).body).toMatchObject({ page: 2, page_size: 2, total: trail.body.total, items: trail.body.items.slice(2, 4) });
  expect((await audit(`project_id=${projectId}`, tok('a1'))).status).toBe(403);
  expect((await audit(`project_id=${crypto.randomUUID()}`)).status).toBe(404);
  expect((await audit(`project_id=${projectId}`, tokenFor({ tenantId: 'other', sub: 'x', roles: ['admin'] }))).status).toBe(404);
  for (const q of ['page_size=1000', 'since=yesterday', 'project_id=nope']) expect((await audit(q)).status).toBe(422);
  // A token restricted to other projects sees none of this project's entries.
  expect((await audit('page_size=500', tokenFor({ tenantId: TENANT, sub: 'mia', roles: ['manager'], projects: [crypto.randomUUID()] }))).body.total).toBe(0);
});

test('jobs: pre-annotate --watch detaches on Ctrl-C, the job goes on; jobs list, pause, resume, cancel, watch; pauses are audited', async () => {
  const { projectId, engineId } = await setupProject('Jobs');
  const file = path.join(dir, 'jobs.ndjson');
  fs.writeFileSync(file, Array.from({ length: 40 }, (_, i) => JSON.stringify({ data: { text: `review number ${i}` } })).join('\n'));
  expect((await anno(['import', '--project', projectId, file])).code).toBe(0);
  fake.setLatency(150);
  try {
    let interrupted = false;
    const detached = await anno(['pre-annotate', '--project', projectId, '--engine', engineId, '--batch-size', '2', '--concurrency', '1', '--watch', '--json', '--interval', '100'], {
      onStdout: (text, child) => {
        if (!interrupted && jsonLines(text).some((l) => l.type === 'progress' && l.status === 'running')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(detached.code).toBe(0);
    const jobId = jsonLines(detached.stdout)[0].job_id as string;
    expect(resultOf(detached)).toEqual({ type: 'result', job_id: jobId, detached: true });
    const status = async () => JSON.parse((await get(`/annotation/jobs/${jobId}`)).text).progress;
    expect((await status()).status).toBe('running'); // Ctrl-C left it running

    const listed = await anno(['jobs', 'list', '--project', projectId, '--json']);
    expect(JSON.parse(listed.stdout)).toMatchObject({ total: 1, items: [expect.objectContaining({ job_id: jobId, type: 'pre_annotation' })] });
    const plain = await anno(['jobs', 'list', '--project', projectId]);
    expect(plain.stdout).toMatch(new RegExp(`^${jobId}  pre_annotation  (running|pending)  \\d+/40  \\$`));

    const paused = await anno(['jobs', 'pause', jobId]);
    expect(paused).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`job ${jobId}: pause accepted`)) });
    await waitFor(status, (p) => p.status === 'paused', 20_000);
    await new Promise((r) => setTimeout(r, 600)); // the batch in flight at the pause finishes
    const atPause = await status();
    await new Promise((r) => setTimeout(r, 600));
    expect((await status()).processed).toBe(atPause.processed); // then nothing moves while paused
    expect((await anno(['jobs', 'resume', jobId, '--json'])).code).toBe(0);
    await waitFor(status, (p) => p.status === 'running' && p.processed > atPause.processed, 20_000);
    expect((await anno(['jobs', 'cancel', jobId])).code).toBe(0);
    const watched = await anno(['jobs', 'watch', jobId, '--interval', '100']);
    expect(watched.code).toBe(1); // cancelled
    expect(watched.stdout).toMatch(new RegExp(`^job ${jobId} cancelled: \\d+/40 processed`));

    const trail = JSON.parse((await get(`/annotation/audit?entity=job&entity_id=${jobId}&page_size=50`)).text).items.map((e: any) => [e.actor, e.action, e.details.reason ?? null]);
    expect(trail).toEqual(
      expect.arrayContaining([
        ['mia', 'job.pause_requested', null],
        ['system', 'job.paused', 'manual'],
        ['mia', 'job.resume_requested', null],
        ['system', 'job.resumed', null],
        ['mia', 'job.cancel_requested', null],
      ]),
    );
    expect(trail.filter(([, a]: string[]) => a === 'job.paused')).toHaveLength(1);
  } finally {
    fake.setLatency(0);
  }
});

test('CLI mistakes: usage errors exit 2, API refusals and an unreachable API exit 1 with one line', async () => {
  const missing = await anno(['import', 'x.ndjson']);
  expect(missing.code).toBe(2);
  expect(missing.stderr).toMatch(/^anno import: missing --project \(usage: anno import/);
  expect((await anno(['export', '--project', 'p', '--format', 'xml'])).code).toBe(2);
  expect((await anno(['jobs', 'frobnicate', 'x'])).code).toBe(2);
  const noToken = await anno(['jobs', 'list'], { token: null });
  expect(noToken.code).toBe(1);
  expect(noToken.stderr.trim()).toMatch(/^anno jobs: 401 \w+: /);
  const badProject = await anno(['export', '--project', crypto.randomUUID()]);
  expect(badProject.code).toBe(1);
  expect(badProject.stderr.trim()).toMatch(/^anno export: 404 NOT_FOUND/);
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const unreachable = await anno(['jobs', 'list', '--url', `http://127.0.0.1:${port}`]);
  expect(unreachable.code).toBe(1);
  expect(unreachable.stderr).toMatch(/cannot reach the API/);
});
