import OpenAI, { toFile } from 'openai';
import type { EngineRecord } from '../../db/models';
import { EngineCallError } from '../errors';
import { classifyOpenAIError, openAIAnswer, openAIChatBody } from '../providers/openai';
import { defaultEgress, providerFetchFor, sdkClientCache } from '../providers/transport';
import type { Egress } from '../providers/egress';
import type { BatchResult, BatchSnapshot, ProviderBatchAdapter } from './types';

/** OpenAI Batch: 50,000 requests and 200 MB per input file (platform.openai.com/docs/guides/batch). */
export const OPENAI_BATCH_LIMITS = { maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 } as const;
const ENDPOINT = '/v1/chat/completions';
const ENDED = new Set(['completed', 'failed', 'expired', 'cancelled']);
/** Metadata naming the batch's key, so a batch whose id was never stored can be found again. */
export const BATCH_KEY_METADATA = 'anno_batch_key';
const CALL_TIMEOUT_MS = 120_000;

/**
 * OpenAI's Batch API through the official SDK: the requests as a JSONL file (purpose `batch`),
 * each line the same chat-completions body as a sync call (structured output included); then
 * `batches.create` over /v1/chat/completions with a 24 h window. Results come as an output file
 * (answers) and an error file (per-request errors), both JSONL keyed by `custom_id`.
 */
export function createOpenAIBatchAdapter(options: { env?: NodeJS.ProcessEnv; egress?: Egress } = {}): ProviderBatchAdapter {
  const env = options.env ?? process.env;
  const fetch = providerFetchFor(options.egress ?? defaultEgress());
  const clientFor = sdkClientCache(env, ({ baseURL, apiKey }) => new OpenAI({ baseURL, apiKey, timeout: CALL_TIMEOUT_MS, maxRetries: 2, fetch }));
  const client = (engine: EngineRecord) => clientFor({ engine, timeoutMs: CALL_TIMEOUT_MS });
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw classifyOpenAIError(err, CALL_TIMEOUT_MS);
    }
  };

  return {
    limits: OPENAI_BATCH_LIMITS,
    requestLine: (engine, labelSchema, customId, messages) =>
      JSON.stringify({ custom_id: customId, method: 'POST', url: ENDPOINT, body: openAIChatBody(engine, messages, labelSchema) }),

    async submit(engine, key, lines) {
      const headers = { 'Idempotency-Key': key };
      const file = await call(async () =>
        client(engine).files.create({ file: await toFile(Buffer.from(`${lines.join('\n')}\n`), `anno-batch-${key}.jsonl`), purpose: 'batch' }, { headers }),
      );
      const batch = await call(() =>
        client(engine).batches.create(
          { input_file_id: file.id, endpoint: ENDPOINT, completion_window: '24h', metadata: { [BATCH_KEY_METADATA]: key } },
          { headers },
        ),
      );
      return snapshot(batch);
    },

    async find(engine, key) {
      // The newest batches first; one created moments ago by a dead attempt is among them.
      let page = await call(() => client(engine).batches.list({ limit: 100 }));
      for (let pages = 0; pages < 5; pages++) {
        const found = page.data.find((b) => b.metadata?.[BATCH_KEY_METADATA] === key);
        if (found) return snapshot(found);
        if (!page.hasNextPage()) return null;
        page = await call(() => page.getNextPage());
      }
      return null;
    },

    retrieve: async (engine, id) => snapshot(await call(() => client(engine).batches.retrieve(id))),
    cancel: async (engine, id) => snapshot(await call(() => client(engine).batches.cancel(id))),

    async *results(engine, batch) {
      for (const fileId of [batch.outputFileId, batch.errorFileId]) {
        if (!fileId) continue;
        const text = await call(async () => (await client(engine).files.content(fileId)).text());
        for (const line of text.split('\n')) {
          if (line.trim()) yield resultOf(line);
        }
      }
    },
  };
}

function snapshot(b: OpenAI.Batches.Batch): BatchSnapshot {
  const c = b.request_counts;
  const total = c?.total ?? 0;
  const done = (c?.completed ?? 0) + (c?.failed ?? 0);
  const ended = ENDED.has(b.status);
  const at = (s: number | null | undefined) => (typeof s === 'number' ? new Date(s * 1000).toISOString() : null);
  return {
    providerBatchId: b.id,
    inputFileId: b.input_file_id,
    outputFileId: b.output_file_id ?? null,
    errorFileId: b.error_file_id ?? null,
    status: b.status,
    ended,
    counts: {
      total,
      succeeded: c?.completed ?? 0,
      errored: c?.failed ?? 0,
      processing: ended ? 0 : Math.max(0, total - done),
      expired: b.status === 'expired' ? Math.max(0, total - done) : 0,
      cancelled: b.status === 'cancelled' ? Math.max(0, total - done) : 0,
    },
    createdAt: at(b.created_at),
    expiresAt: at(b.expires_at),
    endedAt: at(b.completed_at ?? b.failed_at ?? b.expired_at ?? b.cancelled_at),
    error: b.errors?.data?.map((e) => e.message).filter(Boolean).join('; ') || null,
  };
}

/** One line of an output or error file. */
function resultOf(line: string): BatchResult {
  let row: { custom_id?: string; response?: { status_code?: number; body?: unknown } | null; error?: { code?: string; message?: string } | null };
  try {
    row = JSON.parse(line);
  } catch {
    return { customId: '', ok: false, outcome: 'error', reason: 'provider_error: unreadable result line' };
  }
  const customId = String(row.custom_id ?? '');
  if (row.error?.code === 'batch_expired') return { customId, ok: false, outcome: 'expired', reason: 'batch_expired: the provider batch expired before this request was processed' };
  if (row.error?.code === 'batch_cancelled') return { customId, ok: false, outcome: 'cancelled', reason: 'batch_cancelled: the provider batch was cancelled before this request was processed' };
  if (row.error) return { customId, ok: false, outcome: 'error', reason: `batch_request_failed: ${row.error.code ?? 'error'}: ${row.error.message ?? ''}`.slice(0, 500) };
  const status = row.response?.status_code ?? 0;
  if (status !== 200) {
    const message = (row.response?.body as { error?: { message?: string } } | undefined)?.error?.message ?? '';
    return { customId, ok: false, outcome: 'error', reason: `http ${status}: ${message}`.slice(0, 500) };
  }
  try {
    const answer = openAIAnswer(row.response!.body as OpenAI.Chat.Completions.ChatCompletion);
    return { customId, ok: true, text: answer.text, usage: answer.usage };
  } catch (err) {
    const e = err instanceof EngineCallError ? err : null;
    return { customId, ok: false, outcome: 'invalid_output', reason: `invalid_output: ${(err as Error).message}`, usage: e?.usage };
  }
}
