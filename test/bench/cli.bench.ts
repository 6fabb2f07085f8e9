/**
 * The CLI's import and the export, at scale, against the real API on PostgreSQL (no Temporal: neither
 * needs it). Asserts nothing; prints figures.
 *
 *   npm run bench:import -- [--items 100000] [--batch-size 10000]
 *   npm run bench:export -- [--items 100000]          (the same run: the import fills the project)
 *
 * 1. `anno import` (spawned as a user runs it) sends an NDJSON file of N items: its rate, and the
 *    CLI process's peak RSS.
 * 2. Every item then gets an AI annotation and a final label (SQL), and `anno export` streams the
 *    project in each format (jsonl with labels=all, csv, label-studio) to a file. The API runs in
 *    this process: its peak RSS while exporting, sampled every 20 ms, against the RSS before —
 *    bounded memory means the growth does not depend on N (compare --items 10000 with 100000).
 *    RSS includes garbage V8 has not collected yet; `NODE_OPTIONS=--max-old-space-size=160` caps
 *    the heap (API and all) to show what an export really needs: it still streams 100,000 items.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startTestApi, tokenFor } from '../helpers/api';
import { createTestDatabase } from '../helpers/db';
import { rssMb } from '../helpers/worker-process';

const { values } = parseArgs({ options: { items: { type: 'string', default: '100000' }, 'batch-size': { type: 'string', default: '10000' } } });
const N = Number(values.items);
const ROOT = path.resolve(__dirname, '../..');
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

/** Spawns `anno …`; samples the child's peak RSS (VmHWM) while it runs. */
function anno(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string; peakMb: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakMb = 0;
    const sampler = setInterval(() => (peakMb = Math.max(peakMb, rssMb(child.pid!).peak)), 50);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(sampler);
      resolve({ code, stdout, stderr, peakMb });
    });
  });
}

async function main() {
  const tdb = await createTestDatabase('anno_bench');
  const api = await startTestApi({ db: tdb.db, env: { RATE_LIMIT_PER_MINUTE: '100000' } });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anno-bench-'));
  try {
    const token = tokenFor({ tenantId: 'bench', sub: 'bench-manager', roles: ['manager'] });
    const env = { ANNO_URL: api.baseUrl, ANNO_TOKEN: token };
    const created = await api.request('/api/v1/projects', { method: 'POST', token, json: { name: 'Bench', label_schema: { type: 'single_label', labels: ['positive', 'negative', 'neutral'] } } });
    const projectId = ((await created.json()) as { id: string }).id;

    const file = path.join(dir, 'items.ndjson');
    const out = fs.createWriteStream(file);
    for (let i = 0; i < N; i++) out.write(`${JSON.stringify({ external_id: `b-${i}`, data: { text: `Review ${i}: the parcel came ${i % 3 ? 'late, and "broken"' : 'on time'}.` } })}\n`);
    await new Promise((r) => out.end(r));
    console.log(`bench: ${N} items (${mb(fs.statSync(file).size)} MB of NDJSON), batch size ${values['batch-size']}`);

    const imported = await anno(['import', '--project', projectId, '--batch-size', values['batch-size']!, '--json', file], env);
    if (imported.code !== 0) throw new Error(`import failed: ${imported.stderr}`);
    const summary = JSON.parse(imported.stdout.trim().split('\n').at(-1)!);
    console.log(`import: ${summary.inserted} inserted, ${summary.duplicates} duplicates in ${summary.requests} requests, ${summary.seconds} s → ${summary.items_per_second} items/s; CLI peak RSS ${imported.peakMb.toFixed(1)} MB`);

    // An AI annotation and a final label for every item (what a finished pre-annotation leaves).
    await tdb.db.raw(
      `INSERT INTO annotations (id, tenant_id, project_id, item_id, source, annotator_id, value, confidence, status)
       SELECT gen_random_uuid(), 'bench', ?, i.id, 'ai', 'builtin-local', jsonb_build_object('label', 'negative'), 0.9, 'auto_accepted' FROM items i WHERE i.project_id = ?`,
      [projectId, projectId],
    );
    await tdb.db.raw(
      `INSERT INTO final_labels (item_id, tenant_id, project_id, status, label, value, source, method, decided_by, decided_at, annotation_id, engine_id, confidence, inputs)
       SELECT a.item_id, 'bench', ?, 'labelled', 'negative', a.value, 'ai', 'ai', 'builtin-local', a.created_at, a.id, 'builtin-local', 0.9,
              jsonb_build_array(jsonb_build_object('annotation_id', a.id, 'engine_id', 'builtin-local', 'label', 'negative'))
         FROM annotations a WHERE a.project_id = ?`,
      [projectId, projectId],
    );

    for (const [format, labels] of [['jsonl', 'all'], ['csv', 'final'], ['label-studio', 'all']] as const) {
      global.gc?.();
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const target = path.join(dir, `export.${format}`);
      const run = await anno(['export', '--project', projectId, '--format', format, '--labels', labels, '--out', target, '--json'], env);
      clearInterval(sampler);
      if (run.code !== 0) throw new Error(`export failed: ${run.stderr}`);
      const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
      console.log(
        `export ${format} labels=${labels}: ${r.records} items, ${mb(r.bytes)} MB in ${r.seconds} s (${Math.round(r.records / r.seconds)} items/s); ` +
          `API process RSS ${mb(before)} MB before, peak ${mb(peak)} MB (+${mb(peak - before)} MB); CLI peak RSS ${run.peakMb.toFixed(1)} MB`,
      );
      fs.rmSync(target);
    }
  } finally {
    await api.close();
    await tdb.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
