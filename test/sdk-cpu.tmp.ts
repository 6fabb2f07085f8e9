import http from 'node:http';
import OpenAI from 'openai';
import { startFakeOpenAI } from './helpers/fake-openai';
import { providerFetchFor, defaultEgress } from '../src/llm/providers/transport';

const agent = new http.Agent({ keepAlive: true });
/** A minimal fetch: http.request, the whole body buffered, a tiny Response-like. */
const leanFetch = (input: any, init: any = {}) =>
  new Promise<any>((resolve, reject) => {
    const url = typeof input === 'string' ? input : input.href ?? input.url;
    const headers: Record<string, string> = {};
    if (init.headers) for (const [k, v] of Object.entries(init.headers as Record<string, string>)) if (v != null) headers[k] = String(v);
    const req = http.request(url, { method: init.method ?? 'GET', headers, agent, signal: init.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        resolve({ ok: res.statusCode! >= 200 && res.statusCode! < 300, status: res.statusCode, statusText: res.statusMessage, url, headers: h, text: async () => body, json: async () => JSON.parse(body), body: null });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });

(async () => {
  const fake = await startFakeOpenAI({ latencyMs: 0, maxLog: 10 });
  const clients: Record<string, OpenAI> = {
    nodeFetch: new OpenAI({ baseURL: fake.baseUrl, apiKey: 'x', maxRetries: 0, fetch: providerFetchFor(defaultEgress()) as any }),
    lean: new OpenAI({ baseURL: fake.baseUrl, apiKey: 'x', maxRetries: 0, fetch: leanFetch as any }),
    native: new OpenAI({ baseURL: fake.baseUrl, apiKey: 'x', maxRetries: 0 }),
  };
  const C = 32, N = 6000;
  for (const round of [1, 2]) for (const [name, client] of Object.entries(clients)) {
    const one = () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Label this: hello world' }] });
    let next = 0;
    const c0 = process.cpuUsage(); const t0 = performance.now();
    await Promise.all(Array.from({ length: C }, async () => { while (next++ < N) await one(); }));
    const c = process.cpuUsage(c0);
    if (round === 2) console.log(name.padEnd(10), 'CPU ms per call (incl. fake provider)', ((c.user + c.system) / 1000 / N).toFixed(3), 'wall/call', ((performance.now() - t0) / N).toFixed(3));
  }
  await fake.close(); process.exit(0);
})();
