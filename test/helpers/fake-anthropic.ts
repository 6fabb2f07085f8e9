import http from 'node:http';
import { sendJson, startFakeHttpServer, type FakeHttpServer } from './fake-http';
import { answerContent, type FakeFault } from './fake-openai';

/**
 * A real HTTP server speaking Anthropic's Messages API (POST /v1/messages) on 127.0.0.1 and an
 * ephemeral port. Same behaviour and fault hook as the fake OpenAI server: the label named in the
 * last user message (else the first) with confidence 0.9, as a text block of JSON.
 * `baseUrl` has no /v1 (the SDK adds it).
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
  close(): Promise<void>;
}

export async function startFakeAnthropic(options: { latencyMs?: number } = {}): Promise<FakeAnthropic> {
  let latencyMs = options.latencyMs ?? 0;
  let fault: AnthropicFaultHook | null = null;
  let cacheRead = 0;
  let seq = 0;
  const requests: FakeMessagesRequest[] = [];
  const srv: FakeHttpServer = await startFakeHttpServer((req, res, raw) => route(req, res, raw));

  function route(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
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
    baseUrl: `http://127.0.0.1:${srv.port}`,
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
    close: () => srv.close(),
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
