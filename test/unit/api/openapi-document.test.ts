import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import '../../../src/api/app'; // mounts the operational routes
import { OPERATIONS } from '../../../src/api/operations';
import { buildOpenApiDocument, documentedOperations } from '../../../src/api/openapi';
import { createApiRouter } from '../../../src/api/router';

const ROOT = path.resolve(__dirname, '../../..');

beforeAll(() => {
  createApiRouter();
});

const operations = () =>
  Object.entries(buildOpenApiDocument().paths ?? {}).flatMap(([p, ops]) =>
    Object.entries(ops as Record<string, any>).map(([method, op]) => ({ key: `${method.toUpperCase()} ${p}`, method, path: p, op })),
  );

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and gives every operation a unique, readable operationId from the table', () => {
    const doc = buildOpenApiDocument();
    expect(doc.openapi).toBe('3.1.0');
    const ops = operations();
    expect(ops.length).toBeGreaterThanOrEqual(50);
    const ids = ops.map((o) => o.op.operationId);
    expect(ids.every((id) => /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Every operation is in the table (none fell back to a derived id) and the table has no stale entries.
    const tableIds = Object.values(OPERATIONS).map((o) => o.id);
    expect([...ids].sort()).toEqual([...tableIds].sort());
    expect(ids).toEqual(expect.arrayContaining(['listJobs', 'startPreAnnotation', 'createProject', 'getOpenApiDocument']));
  });

  it('documents the statuses every chain can answer, each error with the shared schema', () => {
    for (const { key, method, path: p, op } of operations()) {
      const statuses = Object.keys(op.responses).map(Number);
      const expected = [500, 503];
      if (op.security.length) expected.push(401, 429);
      if (p.includes('{')) expected.push(404);
      if (['post', 'put', 'patch'].includes(method)) expected.push(400, 413, 415);
      if (op.parameters?.length || op.requestBody) expected.push(422);
      expect({ key, missing: expected.filter((s) => !statuses.includes(s)) }).toEqual({ key, missing: [] });
      for (const s of statuses.filter((s) => s >= 400)) {
        expect({ key, s, schema: op.responses[s].content['application/json'].schema }).toEqual({ key, s, schema: { $ref: '#/components/schemas/Error' } });
      }
      expect(op.responses[503].headers['Retry-After']).toBeDefined();
    }
    const doc = buildOpenApiDocument() as any;
    expect(doc.paths['/api/v1/projects'].post.responses['403']).toBeDefined();
    expect(doc.paths['/api/v1/annotation/tasks/{task_id}/claim'].post.responses['409']).toBeDefined();
  });

  it('keeps the zod shapes of every documented operation for contract checks', () => {
    const ids = operations().map((o) => o.op.operationId);
    expect(documentedOperations.map((o) => o.operationId).sort()).toEqual([...ids].sort());
    const create = documentedOperations.find((o) => o.operationId === 'createProject')!;
    expect(create.responses[201].schema!.safeParse({}).success).toBe(false);
    expect(create.responses[422].schema!.safeParse({ error: { code: 'X', message: 'm', details: [], correlation_id: 'c', timestamp: 't' } }).success).toBe(true);
  });

  it('describes the WebSocket protocol, its client messages generated from the hub’s schemas', () => {
    const ws = (buildOpenApiDocument() as any)['x-websocket'];
    expect(ws.paths).toEqual(['/api/v1/annotation/ws', '/api/v1/collaboration/ws']);
    const types = JSON.stringify(ws.clientMessages);
    for (const t of ['subscribe_project', 'unsubscribe_project', 'user_presence', 'ping', 'suggestion_feedback', 'review_decision']) expect(types).toContain(t);
    expect(ws.closeCodes[1008]).toMatch(/token/);
    expect(Object.keys(ws.serverMessages)).toEqual(['ack', 'event', 'pong', 'error']);
  });

  // Redocly is ESM only: the linter runs in its own process (scripts/lint-openapi.ts).
  it('has 0 errors from Redocly’s recommended ruleset', async () => {
    const run = promisify(execFile);
    const result = await run(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/lint-openapi.ts'], { cwd: ROOT }).catch((err) => err);
    const problems = String(result.stdout).trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { severity: string; ruleId: string; pointer: string });
    expect(problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(result.code ?? 0).toBe(0);
    // The only warnings: operational routes (health, ready, metrics, the document) have no 4xx to answer.
    expect(problems.filter((p) => !(p.ruleId === 'operation-4xx-response' && !p.pointer.includes('/api/v1/')))).toEqual([]);
    expect(String(result.stderr)).toMatch(/openapi lint: 0 errors/);
  }, 120_000);

  it('the lint step fails on a broken document (3.0 `nullable` without `type`, as zod-to-openapi wrote for z.unknown())', async () => {
    const broken = JSON.parse(JSON.stringify(buildOpenApiDocument()));
    broken.openapi = '3.0.3';
    delete broken.info.license.identifier;
    broken.components.schemas.Error.properties.error.properties.details = { nullable: true };
    const file = path.join(os.tmpdir(), `openapi-broken-${process.pid}.json`);
    await fs.writeFile(file, JSON.stringify(broken));
    const result = await promisify(execFile)(path.join(ROOT, 'node_modules/.bin/tsx'), ['scripts/lint-openapi.ts', file], { cwd: ROOT }).catch((err) => err);
    await fs.rm(file);
    expect(result.code).toBe(1);
    expect(String(result.stdout)).toContain('"ruleId":"nullable-type-sibling"');
  }, 120_000);
});
