/**
 * The embedded-mode WebSocket scenario, run as its own Node process by
 * test/integration/ws-pglite.test.ts: PGlite's WASM loader needs dynamic import, which Jest's VM
 * does not allow. One process holds the database, the API, the hub and the clients, as `anno dev`
 * does. Prints one JSON line: {"ok": true, ...} or {"ok": false, "error": "..."}.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendEvent } from '../../src/events/outbox';
import { pruneLlmCache } from '../../src/llm/cache';
import { createDatabase, isEmbedded, migrateLatest } from '../../src/db/knex';
import { startTestApi, tokenFor } from './api';
import { seedProject } from './seed';
import { TestWsClient } from './ws-client';

async function main(): Promise<Record<string, unknown>> {
  const forcePolling = process.argv.includes('--polling');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anno-ws-pglite-'));
  const db = createDatabase({ dataDir: dir });
  try {
    assert.equal(isEmbedded(db), true);
    await migrateLatest(db);
    const { tenantId: tenant, projectId: project } = await seedProject(db);
    const api = await startTestApi({ db, ws: { relay: { forcePolling } } });
    const token = tokenFor({ tenantId: tenant, sub: 'dev', roles: ['admin'] });
    try {
      const c = await TestWsClient.connect(api.baseUrl, token);
      assert.equal((await c.subscribe(project)).type, 'ack');
      const ids: string[] = [];
      const started = Date.now();
      for (let i = 0; i < 25; i++) ids.push((await appendEvent(db, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { i } }))!);
      const got = await c.waitForEvents(25, 10_000);
      const liveMs = Date.now() - started;
      assert.deepEqual(got.map((m) => m.id), ids);
      assert.deepEqual(Object.keys(got[0]), ['type', 'id', 'event', 'project_id', 'payload', 'created_at']);
      assert.deepEqual(got[0].payload, { i: 0 });

      // Replay from the embedded table.
      const again = await TestWsClient.connect(api.baseUrl, token);
      await again.subscribe(project, ids[9]);
      assert.deepEqual((await again.waitForEvents(15)).map((m) => m.id), ids.slice(10));
      await again.close();

      // A rolled-back append leaves an id gap that must not stall the relay.
      await db
        .transaction(async (trx) => {
          await appendEvent(trx, { tenantId: tenant, projectId: project, type: 'job.progress', payload: { gone: true } });
          throw new Error('roll back');
        })
        .catch(() => undefined);
      const after = await appendEvent(db, { tenantId: tenant, projectId: project, type: 'job.completed', payload: {} });
      await c.waitFor((m) => m.id === after, 5000, 'event after a rolled-back append');

      // A live suggestion on the embedded database: one read (a prepared statement on PostgreSQL),
      // then the suggestion, its ledger row and its event in one statement.
      const res = await api.request('/api/v1/annotation/suggestion', { method: 'POST', token, json: { project_id: project, data: { text: 'embedded suggestion' } } });
      const suggestion = (await res.json()) as { suggestion_id: string };
      assert.equal(res.status, 200, JSON.stringify(suggestion));
      await c.waitFor((m) => m.event === 'suggestion.ready' && (m.payload as { suggestion_id?: string }).suggestion_id === suggestion.suggestion_id, 5000, 'suggestion.ready');
      assert.equal((await db('suggestions').where({ id: suggestion.suggestion_id })).length, 1);
      assert.equal((await db('llm_usage').where({ project_id: project })).length, 1);

      // Row counts of deletes come back as numbers here too (knex-pglite returns the whole result).
      const engineId = (await db('engines').first('id')).id;
      const row = (key: string, ms: number) => ({ key, tenant_id: tenant, engine_id: engineId, model: 'm', response_text: '{}', expires_at: new Date(Date.now() + ms) });
      await db('llm_cache').insert([row('expired', -1000), row('live', 60_000)]);
      assert.equal(await pruneLlmCache(db), 1);
      await c.close();
      return { ok: true, mode: forcePolling ? 'polling' : 'listen', delivered: got.length, live_ms: liveMs };
    } finally {
      await api.close();
    }
  } finally {
    await db.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (r) => {
    console.log(JSON.stringify(r));
    process.exit(0);
  },
  (err) => {
    console.log(JSON.stringify({ ok: false, error: String((err as Error)?.stack ?? err) }));
    process.exit(1);
  },
);
