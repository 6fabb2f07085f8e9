import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevProcess, type DevProcess } from '../helpers/dev-process';

/**
 * `anno dev` (`npm start`) as a newcomer meets it: it prints the web app's URL, serves the app at
 * /app and turns the development sign-in on, whose token the same API accepts. (Every other
 * process answers the sign-in with 404: test/integration/web-app-serving.test.ts.)
 */
jest.setTimeout(180_000);

let dataDir: string;
let dev: DevProcess | undefined;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'anno-dev-app-'));
  dev = await startDevProcess({ dataDir, port: await freePort(), uiPort: await freePort() });
});
afterAll(async () => {
  await dev?.stop('SIGINT');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('anno dev serves /app and mints development tokens the API accepts', async () => {
  expect(dev!.output()).toMatch(/Web app\s+http:\/\/127\.0\.0\.1:\d+\/app/);
  const page = await fetch(`${dev!.baseUrl}/app/`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('/app/main.js');

  const minted = await fetch(`${dev!.baseUrl}/api/v1/dev/sign-in`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ tenant_id: 'newcomer', user_id: 'nina', roles: ['manager'] }),
  });
  expect(minted.status).toBe(200);
  const body = (await minted.json()) as { token: string; expires_at: string; roles: string[] };
  expect(body.roles).toEqual(['manager']);
  expect(new Date(body.expires_at).getTime()).toBeGreaterThan(Date.now() + 11 * 3600 * 1000);
  const created = await fetch(`${dev!.baseUrl}/api/v1/projects`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${body.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'first', label_schema: { type: 'single_label', labels: ['yes', 'no'] } }),
  });
  expect(created.status).toBe(201);
  expect(((await created.json()) as { created_by: string }).created_by).toBe('nina');
});
