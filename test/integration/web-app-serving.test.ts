import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startTestApi, type TestApi } from '../helpers/api';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * The API's side of the web app without a browser: /app from a directory of built files with the
 * SPA fallback, a missing build answered 503, and the development sign-in off outside `anno dev`.
 */
let tdb: TestDatabase;
let api: TestApi;
let unbuilt: TestApi;
let dir: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'anno-app-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>app</title><script type="module" src="/app/main.js"></script>');
  fs.writeFileSync(path.join(dir, 'main.js'), 'console.log("app")');
  tdb = await createTestDatabase();
  [api, unbuilt] = await Promise.all([
    startTestApi({ db: tdb.db, webAppDir: dir }),
    startTestApi({ db: tdb.db, webAppDir: path.join(dir, 'not-built') }),
  ]);
});
afterAll(async () => {
  await Promise.all([api?.close(), unbuilt?.close()]);
  await tdb?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('/app and its routes answer index.html; files by name; a missing asset or an escape is a 404 in the error shape', async () => {
  for (const p of ['/app', '/app/', '/app/tasks/123', '/app/jobs?project=x']) {
    const res = await api.request(p);
    expect([p, res.status]).toEqual([p, 200]);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("connect-src 'self' ws: wss:");
    expect(await res.text()).toContain('/app/main.js');
  }
  const js = await api.request('/app/main.js');
  expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(await js.text()).toBe('console.log("app")');
  for (const p of ['/app/missing.css', '/app/%2e%2e/%2e%2e/package.json', '/app/..%2Fpackage.json']) {
    const res = await api.request(p);
    expect([p, res.status]).toEqual([p, 404]);
    expect(((await res.json()) as any).error.code).toBe('NOT_FOUND');
  }
  expect((await api.request('/app/%E0%A4%A')).status).toBe(400);
  // Not GET: the app serves nothing, the usual 404 answers.
  expect((await api.request('/app/', { method: 'POST' })).status).toBe(404);
});

test('an unbuilt app answers 503 naming the command that builds it', async () => {
  const res = await unbuilt.request('/app/');
  expect(res.status).toBe(503);
  expect(((await res.json()) as any).error.message).toContain('npm run build:app');
});

test('development sign-in is off unless the process turned it on (anno dev)', async () => {
  const res = await api.request('/api/v1/dev/sign-in', { method: 'POST', json: { tenant_id: 't', user_id: 'u', roles: ['admin'] } });
  expect(res.status).toBe(404);
  expect(((await res.json()) as any).error.message).toMatch(/only available in `anno dev`/);
});
