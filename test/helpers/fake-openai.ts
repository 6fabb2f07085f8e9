import crypto from 'node:crypto';
import http from 'node:http';
import { sendJson, startFakeHttpServer, type FakeHttpServer } from './fake-http';
import { createFakeBatchStore, parseMultipart, type FakeBatch, type FakeBatchOptions, type FakeBatchStore } from './fake-batches';

/**
 * A real HTTP server speaking the OpenAI chat-completions API (POST /v1/chat/completions,
 * GET /v1/models) on 127.0.0.1 and an ephemeral port, for tests and benchmarks. It answers like
 * a well-behaved classifier: the label whose name occurs in the last user message (else the
 * first label) with confidence 0.9, as JSON content, with a plausible `usage`. A fault hook can
 * turn any request into an HTTP error, a hang, malformed content or an off-schema label, and a
 * seeded fault mix injects those at given rates (`FaultMix`).
 *
 * It also speaks the Batch API: POST /v1/files (multipart, purpose `batch`), GET
 * /v1/files/{id}/content, POST /v1/batches (over /v1/chat/completions), GET /v1/batches[/{id}],
 * POST /v1/batches/{id}/cancel. Batches answer each line like a chat request after a processing
 * delay, with per-request faults, expiry and cancellation (`batch` options, fake-batches.ts).
 */

export interface FakeChatMessage {
  role: string;
  content: string;
}

export interface FakeChatRequest {
  /** 0-based arrival order. */
  index: number;
  /** The parsed JSON body as received. */
  body: Record<string, any>;
  model: string;
  messages: FakeChatMessage[];
  /** Text of the last user message (the item, with this project's prompts). */
  lastUserText: string;
  /** The label set, from the response_format JSON schema or the system prompt's `Labels: [...]`. */
  labels: string[];
  multiLabel: boolean;
  headers: http.IncomingHttpHeaders;
  receivedAt: number;
}

export type FakeFault =
  /** An HTTP error; `retryAfter` (seconds) sets the Retry-After header. */
  | { status: number; body?: unknown; retryAfter?: number | string }
  /** Never answer (the connection stays open until the client gives up or the server closes). */
  | 'timeout'
  /** Answer 200 with content that is not JSON and not a label. */
  | 'malformed'
  /** Answer 200 with this label (or labels), in the schema or not. */
  | { label: string | string[]; confidence?: number }
  /** Answer 200 with this raw message content. */
  | { content: string }
  | null
  | undefined;

export type FaultHook = (request: FakeChatRequest) => FakeFault | Promise<FakeFault>;

/**
 * Random faults at given rates (each in [0, 1], summing to at most 1), drawn per call from a hash
 * of the seed, the item text and how many times that text was asked before: the same seed gives
 * every item the same sequence of answers whatever the order the calls arrive in.
 */
export interface FaultMix {
  /** HTTP 500. */
  error500?: number;
  /** HTTP 429 with `Retry-After: retryAfter` (default 1). */
  rateLimited?: number;
  retryAfter?: number | string;
  /** Never answer. */
  hang?: number;
  /** 200 with unparseable content. */
  garbage?: number;
  seed?: number;
}

export interface FakeOpenAIOptions {
  /** Delay before every answer, in ms (default 0). */
  latencyMs?: number;
  fault?: FaultHook | null;
  /** Model ids listed by GET /v1/models (default ['fake-gpt']). */
  models?: string[];
  /** Labels to use when a request carries none. */
  labels?: string[];
  /** Prompt tokens to report as cached (prompt_tokens_details.cached_tokens); default 0. */
  cachedTokens?: (request: FakeChatRequest) => number;
  /** How many requests `requests` keeps (the oldest are dropped); default 100,000. */
  maxLog?: number;
  /** Random faults (after `fault`, which wins when it returns one). */
  faultMix?: FaultMix | null;
  /** The Batch API's processing delay, per-request faults and expiry. */
  batch?: FakeBatchOptions;
}

export interface FakeOpenAI {
  /** e.g. http://127.0.0.1:40123/v1 */
  baseUrl: string;
  /** Received chat requests, in arrival order (bounded by `maxLog`). */
  requests: FakeChatRequest[];
  /**
   * Chat requests received in total (not bounded): counted when the request's body has arrived,
   * before any answer — a call whose client died waiting (or whose answer never got back) counts.
   */
  readonly requestCount: number;
  /** Chat requests whose answer was written out completely. */
  readonly answeredCount: number;
  /** Requests being handled right now, and the most at once since start (or `resetStats`). */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** performance.now() of the first chat request and of the last answer written, since start or `resetStats` (NaN: none). */
  readonly firstRequestAt: number;
  readonly lastAnswerAt: number;
  /** Milliseconds requests spent in this server (arrival of the body to the answer's end), summed. */
  readonly handledMs: number;
  /** TCP connections accepted since start (keep-alive reuses them). */
  readonly connectionCount: number;
  setLatency(ms: number): void;
  setFault(fault: FaultHook | null): void;
  setFaultMix(mix: FaultMix | null): void;
  /** Chat requests received per last user message (the item text), since start or `resetStats`. */
  readonly callsByText: Map<string, number>;
  /** Faults the mix injected, by kind. */
  readonly mixFaults: Record<'error500' | 'rateLimited' | 'hang' | 'garbage', number>;
  resetStats(): void;
  /** The Batch API's batches and counters (created, createCalls, cancelCalls, …). */
  batches: FakeBatchStore;
  /** While set, POST /v1/batches answers this HTTP status (the provider refusing batches). */
  setBatchCreateFault(status: number | null): void;
  /** Files uploaded (purpose batch), by id. */
  files: Map<string, { filename: string; purpose: string; content: Buffer }>;
  close(): Promise<void>;
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  let latencyMs = options.latencyMs ?? 0;
  let fault: FaultHook | null = options.fault ?? null;
  let faultMix: FaultMix | null = options.faultMix ?? null;
  const callsByText = new Map<string, number>();
  const mixFaults = { error500: 0, rateLimited: 0, hang: 0, garbage: 0 };
  const models = options.models ?? ['fake-gpt'];
  const maxLog = options.maxLog ?? 100_000;
  const requests: FakeChatRequest[] = [];
  let requestCount = 0;
  let answeredCount = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let firstRequestAt = NaN;
  let lastAnswerAt = NaN;
  let handledMs = 0;
  let completionId = 0;
  const srv: FakeHttpServer = await startFakeHttpServer((req, res, raw) => route(req, res, raw));
  const files = new Map<string, { filename: string; purpose: string; content: Buffer }>();
  let fileSeq = 0;
  let batchCreateFault: number | null = null;
  const batchStore = createFakeBatchStore(options.batch ?? {}, (request, fault) => {
    const described = describe(request.body, {}, -1, options.labels ?? []);
    const content = answerContent(described, fault);
    const promptChars = described.messages.reduce((n, m) => n + m.content.length, 0);
    return { content, promptTokens: Math.max(1, Math.ceil(promptChars / 4)), completionTokens: Math.max(1, Math.ceil(content.length / 4)) };
  });
  const storeFile = (filename: string, purpose: string, content: Buffer) => {
    const id = `file-fake-${++fileSeq}`;
    files.set(id, { filename, purpose, content });
    return id;
  };

  function route(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    const path = (req.url ?? '').split('?')[0].replace(/\/+$/, '');
    if (path.startsWith('/v1/files') || path.startsWith('/v1/batches')) return routeBatchApi(req, res, raw, path);
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake-openai' })),
      });
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      let body: Record<string, any>;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return sendJson(res, 400, { error: { message: 'invalid JSON body', type: 'invalid_request_error', code: null } });
      }
      if (!body || !Array.isArray(body.messages)) {
        return sendJson(res, 400, { error: { message: "'messages' is required", type: 'invalid_request_error', code: null } });
      }
      if (Number.isNaN(firstRequestAt)) firstRequestAt = performance.now();
      const request = describe(body, req.headers, requestCount++, options.labels ?? []);
      const nth = callsByText.get(request.lastUserText) ?? 0;
      callsByText.set(request.lastUserText, nth + 1);
      mixDecision.set(request, faultMix ? drawFault(faultMix, request.lastUserText, nth, mixFaults) : null);
      requests.push(request);
      if (requests.length > maxLog) requests.splice(0, requests.length - maxLog);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const arrivedAt = performance.now();
      let done = false;
      const finish = () => {
        if (!done) {
          done = true;
          inFlight--;
          handledMs += performance.now() - arrivedAt;
        }
      };
      res.on('close', finish);
      res.on('finish', () => {
        answeredCount++;
        lastAnswerAt = performance.now();
      });
      void handleChat(request, res).finally(() => {
        if (res.writableEnded) finish();
      });
      return;
    }
    sendJson(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error', code: null } });
  }

  function routeBatchApi(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer, path: string): void {
    const fail = (status: number, message: string) => sendJson(res, status, { error: { message, type: 'invalid_request_error', code: null } });
    if (req.method === 'POST' && path === '/v1/files') {
      const fields = parseMultipart(req.headers['content-type'], raw);
      const file = fields.get('file');
      const purpose = fields.get('purpose')?.data.toString('utf8') ?? '';
      if (!file) return fail(400, "'file' is required");
      if (purpose !== 'batch') return fail(400, `unsupported purpose ${purpose}`);
      const id = storeFile(file.filename ?? 'upload.jsonl', purpose, file.data);
      return sendJson(res, 200, { id, object: 'file', bytes: file.data.length, created_at: Math.floor(Date.now() / 1000), filename: file.filename, purpose, status: 'processed' });
    }
    const content = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
    if (req.method === 'GET' && content) {
      const file = files.get(content[1]);
      if (!file) return fail(404, `no file ${content[1]}`);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': file.content.length });
      return void res.end(file.content);
    }
    if (req.method === 'POST' && path === '/v1/batches' && batchCreateFault !== null) return fail(batchCreateFault, `fake batch create refused (${batchCreateFault})`);
    if (req.method === 'POST' && path === '/v1/batches') {
      let body: Record<string, any>;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return fail(400, 'invalid JSON body');
      }
      const input = files.get(String(body?.input_file_id ?? ''));
      if (!input) return fail(400, `no file ${body?.input_file_id}`);
      if (body.endpoint !== '/v1/chat/completions') return fail(400, `unsupported endpoint ${body.endpoint}`);
      const requests: { customId: string; body: Record<string, any>; lastUserText: string }[] = [];
      for (const line of input.content.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        let parsed: any;
        try {
          parsed = JSON.parse(line);
        } catch {
          return fail(400, 'input file: a line is not JSON');
        }
        if (parsed?.method !== 'POST' || parsed?.url !== '/v1/chat/completions' || !Array.isArray(parsed?.body?.messages) || typeof parsed.custom_id !== 'string') {
          return fail(400, 'input file: each line needs custom_id, method POST, url /v1/chat/completions and a body with messages');
        }
        requests.push({ customId: parsed.custom_id, body: parsed.body, lastUserText: describe(parsed.body, {}, -1, []).lastUserText });
      }
      if (new Set(requests.map((r) => r.customId)).size !== requests.length) return fail(400, 'input file: custom_id values must be unique');
      const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
      const batch = batchStore.create({ idPrefix: 'batch_fake_', key, metadata: body.metadata ?? null, inputFileId: body.input_file_id, requests });
      return sendJson(res, 200, presentBatch(batch));
    }
    if (req.method === 'GET' && path === '/v1/batches') {
      batchStore.noteRetrieve();
      const data = [...batchStore.batches].reverse().map(presentBatch);
      return sendJson(res, 200, { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
    }
    const one = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    if (one) {
      const batch = one[2] ? (req.method === 'POST' ? batchStore.cancel(one[1]) : undefined) : req.method === 'GET' ? (batchStore.noteRetrieve(), batchStore.get(one[1])) : undefined;
      if (!batch) return fail(404, `no batch ${one[1]}`);
      return sendJson(res, 200, presentBatch(batch));
    }
    fail(404, `no route ${req.method} ${path}`);
  }

  /** A batch as the API shows it; its output and error files are written once, when it ends. */
  function presentBatch(batch: FakeBatch) {
    const secs = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));
    const files = batch.state === 'ended' ? resultFiles(batch) : { output: null, error: null };
    const results = [...batch.results.values()];
    const status =
      batch.state === 'in_progress' ? 'in_progress' : batch.state === 'cancelling' ? 'cancelling' : batch.endReason === 'completed' ? 'completed' : batch.endReason!;
    return {
      id: batch.id,
      object: 'batch',
      endpoint: '/v1/chat/completions',
      errors: null,
      input_file_id: batch.inputFileId,
      completion_window: '24h',
      status,
      output_file_id: files.output,
      error_file_id: files.error,
      created_at: secs(batch.createdAt),
      in_progress_at: secs(batch.createdAt),
      expires_at: secs(batch.expiresAt),
      finalizing_at: null,
      completed_at: batch.endReason === 'completed' ? secs(batch.endedAt) : null,
      failed_at: null,
      expired_at: batch.endReason === 'expired' ? secs(batch.endedAt) : null,
      cancelling_at: secs(batch.cancelRequestedAt),
      cancelled_at: batch.endReason === 'cancelled' ? secs(batch.endedAt) : null,
      request_counts: {
        total: batch.requests.length,
        completed: results.filter((r) => r.kind === 'answer').length,
        failed: results.filter((r) => r.kind !== 'answer').length,
      },
      metadata: batch.metadata,
    };
  }

  const resultFileIds = new WeakMap<FakeBatch, { output: string | null; error: string | null }>();
  function resultFiles(batch: FakeBatch): { output: string | null; error: string | null } {
    let ids = resultFileIds.get(batch);
    if (ids) return ids;
    const output: string[] = [];
    const errors: string[] = [];
    for (const request of batch.requests) {
      const r = batch.results.get(request.customId)!;
      const line = { id: `batch_req_${crypto.randomBytes(6).toString('hex')}`, custom_id: request.customId };
      if (r.kind === 'answer') {
        output.push(JSON.stringify({
          ...line,
          response: {
            status_code: 200,
            request_id: `req_${request.customId}`,
            body: {
              id: `chatcmpl-fake-${++completionId}`,
              object: 'chat.completion',
              created: Math.floor(Date.now() / 1000),
              model: String(request.body.model ?? ''),
              choices: [{ index: 0, message: { role: 'assistant', content: r.content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
              usage: { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens, prompt_tokens_details: { cached_tokens: 0 } },
            },
          },
          error: null,
        }));
      } else if (r.kind === 'error') {
        errors.push(JSON.stringify({ ...line, response: { status_code: r.status, request_id: `req_${request.customId}`, body: { error: { message: r.message, type: 'server_error' } } }, error: null }));
      } else {
        const code = r.kind === 'expired' ? 'batch_expired' : 'batch_cancelled';
        errors.push(JSON.stringify({ ...line, response: null, error: { code, message: `This request could not be executed before the batch ${r.kind === 'expired' ? 'expired' : 'was cancelled'}.` } }));
      }
    }
    ids = {
      output: output.length ? storeFile(`${batch.id}_output.jsonl`, 'batch_output', Buffer.from(`${output.join('\n')}\n`)) : null,
      error: errors.length ? storeFile(`${batch.id}_error.jsonl`, 'batch_output', Buffer.from(`${errors.join('\n')}\n`)) : null,
    };
    resultFileIds.set(batch, ids);
    return ids;
  }

  async function handleChat(request: FakeChatRequest, res: http.ServerResponse): Promise<void> {
    let decision: FakeFault;
    try {
      decision = fault ? await fault(request) : null;
      decision ??= mixDecision.get(request) ?? null;
    } catch (err) {
      decision = { status: 500, body: { error: { message: `fault hook threw: ${(err as Error).message}`, type: 'server_error', code: null } } };
    }
    if (decision === 'timeout') return; // never answer
    if (latencyMs > 0) await srv.sleep(latencyMs);
    if (res.destroyed) return;

    if (decision && typeof decision === 'object' && 'status' in decision) {
      const headers: Record<string, string> = {};
      if (decision.retryAfter !== undefined) headers['retry-after'] = String(decision.retryAfter);
      const errorBody = decision.body ?? {
        error: { message: `fake upstream error ${decision.status}`, type: decision.status === 429 ? 'rate_limit_exceeded' : 'server_error', code: null },
      };
      return sendJson(res, decision.status, errorBody, headers);
    }

    const content = answerContent(request, decision);

    const promptChars = request.messages.reduce((n, m) => n + m.content.length, 0);
    const promptTokens = Math.max(1, Math.ceil(promptChars / 4));
    const completionTokens = Math.max(1, Math.ceil(content.length / 4));
    const cached = Math.min(promptTokens, Math.max(0, Math.floor(options.cachedTokens?.(request) ?? 0)));
    sendJson(res, 200, {
      id: `chatcmpl-fake-${++completionId}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [{ index: 0, message: { role: 'assistant', content, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens,
        total_tokens: promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: cached },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  }

  return {
    baseUrl: `http://127.0.0.1:${srv.port}/v1`,
    requests,
    get requestCount() {
      return requestCount;
    },
    get answeredCount() {
      return answeredCount;
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get firstRequestAt() {
      return firstRequestAt;
    },
    get lastAnswerAt() {
      return lastAnswerAt;
    },
    get handledMs() {
      return handledMs;
    },
    get connectionCount() {
      return srv.connectionCount;
    },
    setLatency(ms: number) {
      latencyMs = Math.max(0, ms);
    },
    setFault(f: FaultHook | null) {
      fault = f;
    },
    setFaultMix(mix: FaultMix | null) {
      faultMix = mix;
    },
    callsByText,
    mixFaults,
    resetStats() {
      requests.length = 0;
      callsByText.clear();
      for (const k of Object.keys(mixFaults) as (keyof typeof mixFaults)[]) mixFaults[k] = 0;
      requestCount = 0;
      answeredCount = 0;
      maxInFlight = inFlight;
      firstRequestAt = NaN;
      lastAnswerAt = NaN;
      handledMs = 0;
    },
    batches: batchStore,
    files,
    setBatchCreateFault: (status) => void (batchCreateFault = status),
    close: () => {
      batchStore.close();
      return srv.close();
    },
  };
}

const mixDecision = new WeakMap<FakeChatRequest, FakeFault>();

/** The mix's fault for the `nth` (0-based) call with this text, counted in `counts`. */
function drawFault(mix: FaultMix, text: string, nth: number, counts: Record<'error500' | 'rateLimited' | 'hang' | 'garbage', number>): FakeFault {
  const digest = crypto.createHash('sha256').update(`${mix.seed ?? 0}\u0000${nth}\u0000${text}`).digest();
  const u = digest.readUInt32BE(0) / 2 ** 32;
  let edge = 0;
  const pick = (rate: number | undefined) => u < (edge += rate ?? 0);
  if (pick(mix.error500)) return counts.error500++, { status: 500, body: { error: { message: 'injected 500', type: 'server_error', code: null } } };
  if (pick(mix.rateLimited)) return counts.rateLimited++, { status: 429, retryAfter: mix.retryAfter ?? 1 };
  if (pick(mix.hang)) return counts.hang++, 'timeout';
  if (pick(mix.garbage)) return counts.garbage++, 'malformed';
  return null;
}

function describe(body: Record<string, any>, headers: http.IncomingHttpHeaders, index: number, fallbackLabels: string[]): FakeChatRequest {
  const messages: FakeChatMessage[] = body.messages.map((m: any) => ({ role: String(m?.role ?? ''), content: contentText(m?.content) }));
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const schema = body.response_format?.json_schema?.schema;
  let labels: string[] = [];
  let multiLabel = false;
  if (Array.isArray(schema?.properties?.label?.enum)) labels = schema.properties.label.enum;
  else if (Array.isArray(schema?.properties?.labels?.items?.enum)) {
    labels = schema.properties.labels.items.enum;
    multiLabel = true;
  } else {
    const system = messages.find((m) => m.role === 'system')?.content ?? '';
    const m = /Labels:\s*(\[.*\])/.exec(system);
    if (m) {
      try {
        labels = JSON.parse(m[1]);
      } catch {
        labels = [];
      }
    }
    multiLabel = /multi_label/.test(system);
  }
  if (!labels.length) labels = fallbackLabels;
  return {
    index,
    body,
    model: String(body.model ?? ''),
    messages,
    lastUserText: lastUser?.content ?? '',
    labels,
    multiLabel,
    headers,
    receivedAt: Date.now(),
  };
}

/** The assistant content for a request: the fault's content or label, else the default answer. */
export function answerContent(request: Pick<FakeChatRequest, 'labels' | 'multiLabel' | 'lastUserText'>, decision: FakeFault): string {
  if (decision === 'malformed') return 'Sorry, I am not able to answer that in JSON {"label": ';
  if (decision && typeof decision === 'object' && 'content' in decision) return decision.content;
  if (decision && typeof decision === 'object' && 'label' in decision) {
    const confidence = decision.confidence ?? 0.9;
    if (Array.isArray(decision.label)) return JSON.stringify({ labels: decision.label, confidence });
    return request.multiLabel ? JSON.stringify({ labels: [decision.label], confidence }) : JSON.stringify({ label: decision.label, confidence });
  }
  return defaultAnswer(request);
}

/** The label(s) named in the last user message, else the first label; confidence 0.9. */
export function defaultAnswer(request: Pick<FakeChatRequest, 'labels' | 'multiLabel' | 'lastUserText'>): string {
  const text = request.lastUserText.toLowerCase();
  const named = request.labels.filter((l) => text.includes(l.toLowerCase()));
  const first = request.labels[0] ?? 'unknown';
  if (request.multiLabel) return JSON.stringify({ labels: named.length ? named : [first], confidence: 0.9 });
  return JSON.stringify({ label: named[0] ?? first, confidence: 0.9 });
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('');
  return '';
}

