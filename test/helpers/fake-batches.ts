import crypto from 'node:crypto';
import type { FakeFault } from './fake-openai';

/**
 * The provider-neutral half of the fake batch APIs (fake-openai.ts: files + batches;
 * fake-anthropic.ts: message batches): batches that process for a configurable delay on real
 * timers, answer each request like the sync fake (with per-request faults), may expire or be
 * cancelled, and count what was created. A repeated `Idempotency-Key` answers the batch it first
 * created and creates nothing (as the no-double-submit tests need to see).
 */

export interface FakeBatchRequest {
  customId: string;
  /** The request body as the provider would run it (chat completion or message params). */
  body: Record<string, any>;
  /** The item text (last user message). */
  lastUserText: string;
  /** 1-based number of the batch it is in. */
  batchNumber: number;
}

/** How a batch ends: answered in full, or expired with only its first `answeredFraction` answered. */
export type FakeBatchOutcome = 'complete' | { expire: true; answeredFraction?: number };

export interface FakeBatchOptions {
  /** Time from creation to end, in ms (default 50). */
  processingMs?: number;
  /** A per-request fault: an HTTP status becomes that request's error; content/label/malformed its answer. */
  requestFault?: ((request: FakeBatchRequest) => FakeFault) | null;
  /** How batch n (1-based) ends (default: complete). */
  outcome?: ((batchNumber: number) => FakeBatchOutcome) | null;
}

export type FakeBatchResult =
  | { kind: 'answer'; content: string; promptTokens: number; completionTokens: number }
  | { kind: 'error'; status: number; message: string }
  | { kind: 'expired' }
  | { kind: 'cancelled' };

export interface FakeBatch {
  id: string;
  number: number;
  key: string | null;
  metadata: Record<string, string> | null;
  inputFileId: string | null;
  requests: FakeBatchRequest[];
  createdAt: number;
  expiresAt: number;
  state: 'in_progress' | 'cancelling' | 'ended';
  /** Once ended: why. */
  endReason: 'completed' | 'expired' | 'cancelled' | null;
  endedAt: number | null;
  cancelRequestedAt: number | null;
  results: Map<string, FakeBatchResult>;
}

export interface FakeBatchStats {
  /** Batches created (a repeated idempotency key creates none). */
  readonly created: number;
  /** Create calls received, including repeats answered from the idempotency key. */
  readonly createCalls: number;
  readonly cancelCalls: number;
  readonly retrieveCalls: number;
  /** Requests submitted across every batch. */
  readonly requestsSubmitted: number;
}

export interface FakeBatchStore extends FakeBatchStats {
  batches: FakeBatch[];
  get(id: string): FakeBatch | undefined;
  create(input: { idPrefix: string; key: string | null; metadata?: Record<string, string> | null; inputFileId?: string | null; requests: Omit<FakeBatchRequest, 'batchNumber'>[] }): FakeBatch;
  cancel(id: string): FakeBatch | undefined;
  noteRetrieve(): void;
  setOptions(options: FakeBatchOptions): void;
  /** Stops the processing timers (server close). */
  close(): void;
}

/** `answer` turns a request into its default answer (the sync fake's label logic). */
export function createFakeBatchStore(
  options: FakeBatchOptions,
  answer: (request: FakeBatchRequest, fault: FakeFault) => { content: string; promptTokens: number; completionTokens: number },
): FakeBatchStore {
  let opts: FakeBatchOptions = { ...options };
  const batches: FakeBatch[] = [];
  const byId = new Map<string, FakeBatch>();
  const byKey = new Map<string, FakeBatch>();
  const timers = new Set<NodeJS.Timeout>();
  let created = 0;
  let createCalls = 0;
  let cancelCalls = 0;
  let retrieveCalls = 0;
  let requestsSubmitted = 0;

  const later = (ms: number, run: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      run();
    }, ms);
    timers.add(t);
  };

  function finish(batch: FakeBatch, reason: 'completed' | 'expired' | 'cancelled', answered: number) {
    if (batch.state === 'ended') return;
    batch.requests.forEach((request, i) => {
      if (i >= answered) {
        batch.results.set(request.customId, { kind: reason === 'expired' ? 'expired' : 'cancelled' });
        return;
      }
      const fault = opts.requestFault?.(request) ?? null;
      if (fault && typeof fault === 'object' && 'status' in fault) {
        batch.results.set(request.customId, { kind: 'error', status: fault.status, message: `fake request error ${fault.status}` });
      } else {
        batch.results.set(request.customId, { kind: 'answer', ...answer(request, fault) });
      }
    });
    batch.state = 'ended';
    batch.endReason = reason;
    batch.endedAt = Date.now();
  }

  return {
    batches,
    get created() {
      return created;
    },
    get createCalls() {
      return createCalls;
    },
    get cancelCalls() {
      return cancelCalls;
    },
    get retrieveCalls() {
      return retrieveCalls;
    },
    get requestsSubmitted() {
      return requestsSubmitted;
    },
    get: (id) => byId.get(id),
    create(input) {
      createCalls++;
      const existing = input.key ? byKey.get(input.key) : undefined;
      if (existing) return existing;
      const number = ++created;
      requestsSubmitted += input.requests.length;
      const now = Date.now();
      const batch: FakeBatch = {
        id: `${input.idPrefix}${crypto.randomBytes(8).toString('hex')}`,
        number,
        key: input.key,
        metadata: input.metadata ?? null,
        inputFileId: input.inputFileId ?? null,
        requests: input.requests.map((r) => ({ ...r, batchNumber: number })),
        createdAt: now,
        expiresAt: now + 24 * 3600 * 1000,
        state: 'in_progress',
        endReason: null,
        endedAt: null,
        cancelRequestedAt: null,
        results: new Map(),
      };
      batches.push(batch);
      byId.set(batch.id, batch);
      if (input.key) byKey.set(input.key, batch);
      const outcome = opts.outcome?.(number) ?? 'complete';
      later(opts.processingMs ?? 50, () => {
        if (batch.state !== 'in_progress') return;
        if (outcome === 'complete') finish(batch, 'completed', batch.requests.length);
        else finish(batch, 'expired', Math.floor(batch.requests.length * (outcome.answeredFraction ?? 0.5)));
      });
      return batch;
    },
    cancel(id) {
      cancelCalls++;
      const batch = byId.get(id);
      if (!batch || batch.state !== 'in_progress') return batch;
      batch.state = 'cancelling';
      batch.cancelRequestedAt = Date.now();
      // Cancellation takes a moment; nothing more is answered meanwhile.
      later(20, () => finish(batch, 'cancelled', 0));
      return batch;
    },
    noteRetrieve: () => void retrieveCalls++,
    setOptions(next) {
      opts = { ...opts, ...next };
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

/** The multipart/form-data fields of a body (what the SDKs' file uploads send). */
export function parseMultipart(contentType: string | undefined, body: Buffer): Map<string, { filename: string | null; data: Buffer }> {
  const fields = new Map<string, { filename: string | null; data: Buffer }>();
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  if (!boundary) return fields;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2); // skip CRLF after the delimiter and before the next
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd !== -1) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      const filename = /filename="([^"]*)"/i.exec(headers)?.[1] ?? null;
      if (name) fields.set(name, { filename, data: part.subarray(headerEnd + 4) });
    }
    start = next;
  }
  return fields;
}
