import Anthropic from '@anthropic-ai/sdk';
import type { EngineRecord } from '../../db/models';
import { EngineCallError } from '../errors';
import { anthropicAnswer, anthropicMessageBody, classifyAnthropicError } from '../providers/anthropic';
import { defaultEgress, providerFetchFor, sdkClientCache } from '../providers/transport';
import type { Egress } from '../providers/egress';
import type { BatchResult, BatchSnapshot, ProviderBatchAdapter } from './types';

/** Anthropic Message Batches: 100,000 requests or 256 MB per batch, whichever comes first. */
export const ANTHROPIC_BATCH_LIMITS = { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 } as const;
const CALL_TIMEOUT_MS = 120_000;

/**
 * Anthropic's Message Batches through the official SDK: each request's `params` is the same
 * Messages body as a sync call (structured output included), its `custom_id` the item's id.
 * Results are read as the SDK's JSONL stream once `processing_status` is `ended`.
 */
export function createAnthropicBatchAdapter(options: { env?: NodeJS.ProcessEnv; egress?: Egress } = {}): ProviderBatchAdapter {
  const env = options.env ?? process.env;
  const fetch = providerFetchFor(options.egress ?? defaultEgress());
  const clientFor = sdkClientCache(env, ({ baseURL, apiKey }) => new Anthropic({ baseURL, apiKey, authToken: null, timeout: CALL_TIMEOUT_MS, maxRetries: 2, fetch }));
  const client = (engine: EngineRecord) => clientFor({ engine, timeoutMs: CALL_TIMEOUT_MS });
  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (err) {
      throw classifyAnthropicError(err, CALL_TIMEOUT_MS);
    }
  };

  return {
    limits: ANTHROPIC_BATCH_LIMITS,
    requestLine: (engine, labelSchema, customId, messages) => JSON.stringify({ custom_id: customId, params: anthropicMessageBody(engine, messages, labelSchema) }),

    async submit(engine, key, lines) {
      const requests = lines.map((l) => JSON.parse(l)) as Anthropic.Messages.Batches.BatchCreateParams.Request[];
      return snapshot(await call(() => client(engine).messages.batches.create({ requests }, { headers: { 'Idempotency-Key': key } })));
    },

    // Message batches carry no metadata to search by: the Idempotency-Key header is the guard.
    find: async () => null,

    retrieve: async (engine, id) => snapshot(await call(() => client(engine).messages.batches.retrieve(id))),
    cancel: async (engine, id) => snapshot(await call(() => client(engine).messages.batches.cancel(id))),

    async *results(engine, batch) {
      const stream = await call(() => client(engine).messages.batches.results(batch.providerBatchId));
      try {
        for await (const row of stream) yield resultOf(row);
      } catch (err) {
        throw classifyAnthropicError(err, CALL_TIMEOUT_MS);
      }
    },
  };
}

function snapshot(b: Anthropic.Messages.Batches.MessageBatch): BatchSnapshot {
  const c = b.request_counts;
  const total = c.processing + c.succeeded + c.errored + c.canceled + c.expired;
  return {
    providerBatchId: b.id,
    status: b.processing_status,
    ended: b.processing_status === 'ended',
    counts: { total, succeeded: c.succeeded, errored: c.errored, processing: c.processing, expired: c.expired, cancelled: c.canceled },
    createdAt: b.created_at ?? null,
    expiresAt: b.expires_at ?? null,
    endedAt: b.ended_at ?? null,
  };
}

function resultOf(row: Anthropic.Messages.Batches.MessageBatchIndividualResponse): BatchResult {
  const customId = row.custom_id;
  const r = row.result;
  switch (r.type) {
    case 'succeeded':
      try {
        const answer = anthropicAnswer(r.message);
        return { customId, ok: true, text: answer.text, usage: answer.usage };
      } catch (err) {
        return { customId, ok: false, outcome: 'invalid_output', reason: `invalid_output: ${(err as Error).message}`, usage: err instanceof EngineCallError ? err.usage : undefined };
      }
    case 'errored': {
      const e = (r.error as { error?: { type?: string; message?: string } } | undefined)?.error;
      return { customId, ok: false, outcome: 'error', reason: `batch_request_failed: ${e?.type ?? 'error'}: ${e?.message ?? ''}`.slice(0, 500) };
    }
    case 'expired':
      return { customId, ok: false, outcome: 'expired', reason: 'batch_expired: the provider batch expired before this request was processed' };
    default:
      return { customId, ok: false, outcome: 'cancelled', reason: 'batch_cancelled: the provider batch was cancelled before this request was processed' };
  }
}
