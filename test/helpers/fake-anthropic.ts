import http from 'node:http';
import { sendJson, startFakeHttpServer, type FakeHttpServer } from './fake-http';
import { answerContent, type FakeFault } from './fake-openai';
import { createFakeBatchStore, type FakeBatch, type FakeBatchOptions, type FakeBatchStore } from './fake-batches';

/**
 * A real HTTP server speaking Anthropic's Messages API (POST /v1/messages) on 127.0.0.1 and an
 * ephemeral port. Same behaviour and fault hook as the fake OpenAI server: the label named in the
 * last user message (else the first) with confidence 0.9, as a text block of JSON.
 * `baseUrl` has no /v1 (the SDK adds it).
 *
 * It also speaks Message Batches: POST /v1/messages/batches, GET /v1/messages/batches/{id},
 * POST …/{id}/cancel and GET …/{id}/results (JSONL), with the processing delay, per-request
 * faults, expiry and cancellation of fake-batches.ts.
 */

export interface FakeMessagesRequest {
  index: number;
  body: Record<string, any>;
  model: string;
  system: string;
  messages: { role: string; content: string }[];
  lastUserText: string;
  labels: string[];
  multiLabel: boolean;
  headers: http.IncomingHttpHeaders;
  /** The key the client sent (x-api-key, or a Bearer authorization as newer SDKs send). */
  apiKey: string | null;
}

export type AnthropicFaultHook = (request: FakeMessagesRequest) => FakeFault | Promise<FakeFault>;

export interface FakeAnthropic {
  baseUrl: string;
  requests: FakeMessagesRequest[];
  setLatency(ms: number): void;
  setFault(fault: AnthropicFaultHook | null): void;
  /** Cache-read input tokens to report per request (default 0). */
  setCacheReadTokens(n: number): void;
  /** Message batches and their counters (created, createCalls, cancelCalls, …). */
  batches: FakeBatchStore;
  close(): Promise<void>;
}

export async function startFakeAnthropic(options: { latencyMs?: number; batch?: FakeBatchOptions } = {}): Promise<FakeAnthropic> {
  let latencyMs = options.latencyMs ?? 0;
  let fault: AnthropicFaultHook | null = null;
  let cacheRead = 0;
  let seq = 0;
  const requests: FakeMessagesRequest[] = [];
  const srv: FakeHttpServer = await startFakeHttpServer((req, res, raw) => route(req, res, raw));
  const baseUrl = `http://127.0.0.1:${srv.port}`;
  const batchStore = createFakeBatchStore(options.batch ?? {}, (request, fault) => {
    const described = describe(request.body, {}, -1);
    const text = answerContent(described, fault);
    const chars = described.system.length + described.messages.reduce((n, m) => n + m.content.length, 0);
    return { content: text, promptTokens: Math.max(1, Math.ceil(chars / 4)), completionTokens: Math.max(1, Math.ceil(text.length / 4)) };
  });

  function route(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path.startsWith('/v1/messages/batches')) return routeBatches(req, res, raw, path);
    if (req.method !== 'POST' || path !== '/v1/messages') return send(res, 404, error('not_found_error', `no route ${req.method} ${path}`));
    let body: Record<string, any>;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return send(res, 400, error('invalid_request_error', 'invalid JSON body'));
    }
    if (!Array.isArray(body?.messages) || typeof body.max_tokens !== 'number') {
      return send(res, 400, error('invalid_request_error', 'messages and max_tokens are required'));
    }
    const request = describe(body, req.headers, requests.length);
    requests.push(request);
    void respond(request, res);
  }

  function routeBatches(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer, path: string): void {
    if (req.method === 'POST' && path === '/v1/messages/batches') {
      let body: Record<string, any>;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return send(res, 400, error('invalid_request_error', 'invalid JSON body'));
      }
      const list = body?.requests;
      if (!Array.isArray(list) || !list.length) return send(res, 400, error('invalid_request_error', 'requests: at least one request is required'));
      const requests = [];
      for (const r of list) {
        if (typeof r?.custom_id !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(r.custom_id)) return send(res, 400, error('invalid_request_error', 'custom_id must match ^[a-zA-Z0-9_-]{1,64}$'));
        if (!Array.isArray(r?.params?.messages) || typeof r.params.max_tokens !== 'number') return send(res, 400, error('invalid_request_error', 'params: messages and max_tokens are required'));
        requests.push({ customId: r.custom_id, body: r.params, lastUserText: describe(r.params, {}, -1).lastUserText });
      }
      if (new Set(requests.map((r) => r.customId)).size !== requests.length) return send(res, 400, error('invalid_request_error', 'custom_id values must be unique'));
      const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
      return send(res, 200, presentBatch(batchStore.create({ idPrefix: 'msgbatch_fake_', key, requests })));
    }
    const m = /^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/.exec(path);
    const batch = m ? batchStore.get(m[1]) : undefined;
    if (!m || !batch) return send(res, 404, error('not_found_error', `no route ${req.method} ${path}`));
    if (req.method === 'POST' && m[2] === '/cancel') return send(res, 200, presentBatch(batchStore.cancel(m[1])!));
    if (req.method === 'GET' && m[2] === '/results') {
      if (batch.state !== 'ended') return send(res, 400, error('invalid_request_error', 'batch has not ended'));
      const lines = batch.requests.map((r) => JSON.stringify({ custom_id: r.customId, result: resultOf(batch, r.customId, String(r.body.model ?? '')) }));
      const payload = `${lines.join('\n')}\n`;
      res.writeHead(200, { 'content-type': 'application/binary', 'content-length': Buffer.byteLength(payload), 'request-id': `req_fake_${Date.now()}` });
      return void res.end(payload);
    }
    if (req.method === 'GET' && !m[2]) {
      batchStore.noteRetrieve();
      return send(res, 200, presentBatch(batch));
    }
    send(res, 404, error('not_found_error', `no route ${req.method} ${path}`));
  }

  function presentBatch(batch: FakeBatch) {
    const at = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    const counts = { processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 0 };
    if (batch.state !== 'ended') counts.processing = batch.requests.length;
    else {
      for (const r of batch.results.values()) {
        if (r.kind === 'answer') counts.succeeded++;
        else if (r.kind === 'error') counts.errored++;
        else if (r.kind === 'expired') counts.expired++;
        else counts.canceled++;
      }
    }
    return {
      id: batch.id,
      type: 'message_batch',
      processing_status: batch.state === 'cancelling' ? 'canceling' : batch.state,
      request_counts: counts,
      ended_at: at(batch.endedAt),
      created_at: at(batch.createdAt),
      expires_at: at(batch.expiresAt),
      archived_at: null,
      cancel_initiated_at: at(batch.cancelRequestedAt),
      results_url: batch.state === 'ended' ? `${baseUrl}/v1/messages/batches/${batch.id}/results` : null,
    };
  }

  function resultOf(batch: FakeBatch, customId: string, model: string) {
    const r = batch.results.get(customId)!;
    if (r.kind === 'answer') {
      return {
        type: 'succeeded',
        message: {
          id: `msg_fake_${++seq}`,
          type: 'message',
          role: 'assistant',
          model,
          content: [{ type: 'text', text: r.content }],
          stop_reason: 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: r.promptTokens, output_tokens: r.completionTokens, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
        },
      };
    }
    if (r.kind === 'error') return { type: 'errored', error: { type: 'error', error: { type: r.status === 529 ? 'overloaded_error' : 'api_error', message: r.message } } };
    return { type: r.kind === 'expired' ? 'expired' : 'canceled' };
  }

  async function respond(request: FakeMessagesRequest, res: http.ServerResponse): Promise<void> {
    let decision: FakeFault;
    try {
      decision = fault ? await fault(request) : null;
    } catch (err) {
      decision = { status: 500, body: error('api_error', `fault hook threw: ${(err as Error).message}`) };
    }
    if (decision === 'timeout') return;
    if (latencyMs > 0) await srv.sleep(latencyMs);
    if (res.destroyed) return;
    if (decision && typeof decision === 'object' && 'status' in decision) {
      const headers: Record<string, string> = {};
      if (decision.retryAfter !== undefined) headers['retry-after'] = String(decision.retryAfter);
      const type = decision.status === 429 ? 'rate_limit_error' : decision.status === 529 ? 'overloaded_error' : 'api_error';
      return send(res, decision.status, decision.body ?? error(type, `fake upstream error ${decision.status}`), headers);
    }
    const text = answerContent(request, decision);
    const chars = request.system.length + request.messages.reduce((n, m) => n + m.content.length, 0);
    const promptTokens = Math.max(1, Math.ceil(chars / 4));
    const read = Math.min(cacheRead, promptTokens);
    send(res, 200, {
      id: `msg_fake_${++seq}`,
      type: 'message',
      role: 'assistant',
      model: request.model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: promptTokens - read,
        output_tokens: Math.max(1, Math.ceil(text.length / 4)),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: read,
      },
    });
  }

  return {
    baseUrl,
    requests,
    setLatency: (ms) => {
      latencyMs = Math.max(0, ms);
    },
    setFault: (f) => {
      fault = f;
    },
    setCacheReadTokens: (n) => {
      cacheRead = Math.max(0, Math.floor(n));
    },
    batches: batchStore,
    close: () => {
      batchStore.close();
      return srv.close();
    },
  };
}

function describe(body: Record<string, any>, headers: http.IncomingHttpHeaders, index: number): FakeMessagesRequest {
  const text = (c: unknown): string =>
    typeof c === 'string' ? c : Array.isArray(c) ? c.map((b) => (typeof b?.text === 'string' ? b.text : '')).join('') : '';
  const messages = body.messages.map((m: any) => ({ role: String(m?.role ?? ''), content: text(m?.content) }));
  const system = text(body.system);
  const schema = body.output_config?.format?.schema;
  let labels: string[] = [];
  let multiLabel = false;
  if (Array.isArray(schema?.properties?.label?.enum)) labels = schema.properties.label.enum;
  else if (Array.isArray(schema?.properties?.labels?.items?.enum)) {
    labels = schema.properties.labels.items.enum;
    multiLabel = true;
  } else {
    const m = /Labels:\s*(\[.*\])/.exec(system);
    try {
      labels = m ? JSON.parse(m[1]) : [];
    } catch {
      labels = [];
    }
    multiLabel = /multi_label/.test(system);
  }
  const lastUser = [...messages].reverse().find((m: { role: string }) => m.role === 'user');
  const bearer = /^Bearer\s+(.+)$/i.exec(String(headers.authorization ?? ''))?.[1] ?? null;
  const apiKey = typeof headers['x-api-key'] === 'string' ? headers['x-api-key'] : bearer;
  return { index, body, model: String(body.model ?? ''), system, messages, lastUserText: lastUser?.content ?? '', labels, multiLabel, headers, apiKey };
}

function error(type: string, message: string) {
  return { type: 'error', error: { type, message } };
}

/** Anthropic's responses carry a request-id header. */
function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, body, { 'request-id': `req_fake_${Date.now()}`, ...headers });
}
