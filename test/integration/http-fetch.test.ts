import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { httpFetch } from '../../src/llm/providers/http-fetch';

/** The provider SDKs' fetch against a real HTTP server: what the SDKs read, and how it fails. */
let server: http.Server;
let base: string;
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };
const seen: { method?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const path = req.url ?? '/';
      if (path === '/json') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req-1' });
        res.end(JSON.stringify({ ok: true, echo: seen.at(-1)!.body }));
      } else if (path === '/gzip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
        res.end(zlib.gzipSync(JSON.stringify({ zipped: true })));
      } else if (path === '/redirect') {
        res.writeHead(302, { location: '/json' });
        res.end();
      } else if (path === '/no-content') {
        res.writeHead(204);
        res.end();
      } else if (path === '/cut') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"partial":');
        setTimeout(() => res.socket?.destroy(), 20);
      } else if (path === '/slow') {
        setTimeout(() => res.end('late'), 5000).unref();
      } else {
        res.writeHead(429, { 'retry-after': '7', 'content-type': 'application/json' });
        res.end('{"error":{"message":"slow down"}}');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  agents.http.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

test('sends the method, headers (a Headers or a record) and body; answers status, headers and JSON', async () => {
  const res = await httpFetch(new URL(`${base}/json`), { method: 'POST', headers: new Headers({ 'content-type': 'application/json', authorization: 'Bearer k' }), body: '{"a":1}' }, agents);
  expect(res.ok).toBe(true);
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toBe('req-1');
  expect(await res.json()).toEqual({ ok: true, echo: '{"a":1}' });
  expect(res.bodyUsed).toBe(true);
  await expect(res.text()).rejects.toThrow(/already been read/);
  expect(seen.at(-1)).toMatchObject({ method: 'POST', body: '{"a":1}', headers: { authorization: 'Bearer k', 'content-length': '7' } });

  const bytes = await httpFetch(new URL(`${base}/json`), { method: 'POST', headers: { 'x-a': 'b' }, body: Buffer.from('xyz') }, agents);
  expect(((await bytes.json()) as { echo: string }).echo).toBe('xyz');
  expect(seen.at(-1)!.headers['x-a']).toBe('b');
});

test('an error answer is answered, not thrown; its body is read as text', async () => {
  const res = await httpFetch(new URL(`${base}/busy`), {}, agents);
  expect(res.ok).toBe(false);
  expect(res.status).toBe(429);
  expect(res.headers.get('retry-after')).toBe('7');
  expect(await res.text()).toContain('slow down');
});

test('a compressed answer is decoded; a redirect is answered as is, never followed; a 204 has no body', async () => {
  const zipped = await httpFetch(new URL(`${base}/gzip`), {}, agents);
  expect(await zipped.json()).toEqual({ zipped: true });
  expect(zipped.headers.get('content-encoding')).toBeNull();
  const before = seen.length;
  const redirect = await httpFetch(new URL(`${base}/redirect`), {}, agents);
  expect(redirect.status).toBe(302);
  expect(redirect.headers.get('location')).toBe('/json');
  expect(seen.length).toBe(before + 1); // /json was not requested
  const empty = await httpFetch(new URL(`${base}/no-content`), {}, agents);
  expect(empty.status).toBe(204);
  expect(await empty.text()).toBe('');
});

test('the body as a stream (what Anthropic batch results read)', async () => {
  const res = await httpFetch(new URL(`${base}/json`), { method: 'POST', body: 'line' }, agents);
  const reader = res.body!.getReader();
  let text = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) text += Buffer.from(r.value).toString('utf8');
  expect(JSON.parse(text)).toMatchObject({ echo: 'line' });
});

test('a connection cut before the end of the answer rejects; so does an abort, with its reason', async () => {
  await expect(httpFetch(new URL(`${base}/cut`), {}, agents)).rejects.toMatchObject({ code: 'ECONNRESET' });
  const controller = new AbortController();
  const pending = httpFetch(new URL(`${base}/slow`), { signal: controller.signal }, agents);
  setTimeout(() => controller.abort(), 50);
  await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  // Nothing listening: the connection error itself.
  await expect(httpFetch(new URL('http://127.0.0.1:1/'), {}, agents)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
});
