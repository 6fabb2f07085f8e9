import crypto from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { JobCounters } from '../src/annotation/job-progress';
import { thresholdsFrom } from '../src/annotation/routing';
import { compareDecimals } from '../src/annotation/budget';
import { loadProjectContext } from '../src/data/project-context';
import { ProviderBatch, type EngineRecord, type ProviderBatchRow } from '../src/db/models';
import { createBatchProviders, type BatchProviders, type BatchResult, type BatchSnapshot, type ProviderBatchAdapter } from '../src/llm/batch';
import { batchPrices, computeCostUsd, sumDecimals } from '../src/llm/cost';
import { EngineCallError } from '../src/llm/errors';
import { loadVisibleEngine } from '../src/llm/engine-store';
import { openUsageBatch, settleUsageBatch, type OpenCall, type OpenedCall, type Settlement } from '../src/llm/ledger';
import { parseModelOutput } from '../src/llm/parse';
import { buildMessages } from '../src/llm/prompt';
import { ZERO_USAGE } from '../src/llm/batch';
import { upperBoundCostUsd } from '../src/llm/write-ahead';
import { batchCounters, itemText, jobSpend } from './pre-annotation';
import { answeredRow, failedRow, insertAnnotation } from './ai-annotations';
import type { AiAnnotationRow } from '../src/data/final-labels';

/**
 * Batch mode of pre-annotation (issue 13): the three short activities a provider batch needs —
 * submit, poll, collect (and cancel) — while the workflow waits between them on durable timers.
 * Every provider call is in src/llm/batch; every write is keyed so a retry changes nothing twice.
 */
export interface ProviderBatchDeps {
  db: Knex;
  /** The providers' batch APIs (default: the official SDKs over this process's egress policy). */
  batchProviders?: BatchProviders;
}

/** A provider batch as progress shows it. */
export interface ProviderBatchView {
  rowId: string;
  id: string | null;
  provider: string;
  status: string;
  attempt: number;
  fromSeq: number;
  toSeq: number;
  requestCount: number;
  requestCounts: Record<string, number>;
  createdAt: string;
  expiresAt: string | null;
  ended: boolean;
}

export interface SubmitProviderBatchInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  engineId: string;
  instructions?: string;
  /** The chunk: job items with seq in [fromSeq, toSeq) and no annotation yet. */
  fromSeq: number;
  toSeq: number;
  /** 0: the chunk's first batch; n: its n-th retry. */
  attempt: number;
  /** The budget (decimal string): the batch is submitted only if its upper-bound cost fits. */
  maxCostUsd?: string | null;
}

export type SubmitProviderBatchResult =
  | { kind: 'submitted'; batch: ProviderBatchView }
  /** Nothing left to ask in the chunk (every item already has its annotation). */
  | { kind: 'nothing'; toSeq: number }
  /** The batch's upper-bound cost does not fit the budget: nothing was created. */
  | { kind: 'budget'; toSeq: number; upperBoundUsd: string; spentUsd: string };

export interface CollectProviderBatchInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  rowId: string;
  /** No retry follows: the items that came back failed get failed annotations with their reasons. */
  finalAttempt: boolean;
}

export interface CollectProviderBatchResult {
  /** The chunk's counters as the database has them (absolute, so a retried collect counts nothing twice). */
  counters: JobCounters;
  /** Items of the chunk still without an annotation. */
  remaining: number;
  answered: number;
  failed: number;
  spentUsd: string;
}

/** Rows of the ledger opened at submission may be settled by the sweeper only after the provider's window. */
const LEDGER_DEADLINE_MS = 25 * 3600 * 1000;
const WRITE_CHUNK = 1000;

/** A UUID derived from `text` (same text, same UUID): batch keys and ledger call keys. */
export function derivedUuid(text: string): string {
  const h = crypto.createHash('sha256').update(text).digest();
  h[6] = (h[6] & 0x0f) | 0x40;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

const callKeyOf = (batchKey: string, itemId: string) => derivedUuid(`${batchKey}:${itemId}`);

export function presentProviderBatch(row: ProviderBatchRow): ProviderBatchView {
  return {
    rowId: row.id,
    id: row.provider_batch_id,
    provider: row.provider,
    status: row.status,
    attempt: row.attempt,
    fromSeq: row.from_seq,
    toSeq: row.to_seq,
    requestCount: row.request_count,
    requestCounts: row.request_counts ?? {},
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: row.expires_at ? new Date(row.expires_at).toISOString() : null,
    ended: row.ended_at !== null && row.ended_at !== undefined,
  };
}

interface PendingItem {
  seq: number;
  item_id: string;
  data: { text?: string } & Record<string, unknown>;
}

export function createProviderBatchActivities(deps: ProviderBatchDeps) {
  const { db } = deps;
  let providers = deps.batchProviders;
  const adapterFor = (engine: EngineRecord): ProviderBatchAdapter => {
    providers ??= createBatchProviders();
    const adapter = engine.batch ? providers[engine.provider as 'openai' | 'anthropic'] : undefined;
    if (!adapter) throw ApplicationFailure.nonRetryable(`engine ${engine.id} has no batch API`, 'EngineCannotBatch');
    return adapter;
  };
  const engineOf = async (tenantId: string, engineId: string) => {
    const engine = await loadVisibleEngine(db, tenantId, engineId);
    if (!engine) throw ApplicationFailure.nonRetryable(`engine ${engineId} not found`, 'EngineNotFound');
    return engine;
  };
  const pendingItems = (jobId: string, fromSeq: number, toSeq: number, limit?: number): Promise<PendingItem[]> => {
    const q = db('job_items as ji')
      .join('items as i', 'i.id', 'ji.item_id')
      .where('ji.job_id', jobId)
      .andWhere('ji.seq', '>=', fromSeq)
      .andWhere('ji.seq', '<', toSeq)
      .whereNotExists(db('annotations as a').whereRaw('a.job_id = ji.job_id AND a.item_id = ji.item_id'))
      .orderBy('ji.seq')
      .select('ji.seq', 'ji.item_id', 'i.data');
    return limit ? q.limit(limit) : q;
  };
  const rowById = async (tenantId: string, rowId: string) => {
    const row = await ProviderBatch.query(db).findById(rowId).where('tenant_id', tenantId);
    if (!row) throw ApplicationFailure.nonRetryable(`provider batch ${rowId} not found`, 'ProviderBatchNotFound');
    return row;
  };
  const recordSnapshot = async (rowId: string, snap: BatchSnapshot): Promise<ProviderBatchRow> => {
    const [row] = await ProviderBatch.query(db)
      .where('id', rowId)
      .patch({
        provider_batch_id: snap.providerBatchId,
        ...(snap.inputFileId ? { input_file_id: snap.inputFileId } : {}),
        status: snap.status,
        request_counts: { ...snap.counts },
        ...(snap.expiresAt ? { expires_at: new Date(snap.expiresAt) } : {}),
        ...(snap.ended ? { ended_at: new Date(snap.endedAt ?? Date.now()) } : {}),
        updated_at: new Date(),
      })
      .returning('*');
    return row;
  };
  /** The ledger rows a batch opened, by call key (in flight, or closed `unknown` by the sweeper). */
  const openedCalls = async (keys: string[]): Promise<Map<string, OpenedCall>> => {
    const found = new Map<string, OpenedCall>();
    for (let i = 0; i < keys.length; i += WRITE_CHUNK) {
      const rows: { id: string; call_key: string; job_id: string | null }[] = await db('llm_usage')
        .whereIn('call_key', keys.slice(i, i + WRITE_CHUNK))
        .whereIn('state', ['in_flight', 'unknown'])
        .select('id', 'call_key', 'job_id');
      for (const r of rows) found.set(r.call_key.toLowerCase(), { id: String(r.id), jobId: r.job_id });
    }
    return found;
  };
  const settleAll = async (settles: { call: OpenedCall; settlement: Settlement }[]) => {
    for (let i = 0; i < settles.length; i += WRITE_CHUNK) await settleUsageBatch(db, settles.slice(i, i + WRITE_CHUNK));
  };

  return {
    /**
     * Submits the chunk's items that have no annotation yet as one provider batch, after writing
     * its row (keyed by job, chunk and attempt) and its requests' ledger rows (in flight at their
     * upper-bound batch cost): a retry or a restarted worker finds the row — with the provider
     * batch id once stored, else through the provider by the batch key — and creates nothing twice.
     */
    async submitProviderBatch(input: SubmitProviderBatchInput): Promise<SubmitProviderBatchResult> {
      const key = derivedUuid(`provider-batch:${input.jobId}:${input.fromSeq}:${input.attempt}`);
      const existing = await ProviderBatch.query(db).where('batch_key', key).first();
      if (existing?.provider_batch_id) return { kind: 'submitted', batch: presentProviderBatch(existing) };

      const engine = await engineOf(input.tenantId, input.engineId);
      const adapter = adapterFor(engine);
      const toSeq = existing?.to_seq ?? input.toSeq;
      // One past the provider's request limit, to see whether the chunk must be cut short.
      const items = await pendingItems(input.jobId, input.fromSeq, toSeq, existing ? undefined : adapter.limits.maxRequests + 1);
      if (!items.length) return { kind: 'nothing', toSeq };

      if (existing) {
        const found = await adapter.find(engine, key);
        if (found) return { kind: 'submitted', batch: presentProviderBatch(await recordSnapshot(existing.id, found)) };
      }

      // The same prompts as sync mode: one project snapshot (few-shot pool included) for the chunk.
      const project = await loadProjectContext(db, input.tenantId, input.projectId);
      const prices = { ...batchPrices(engine), provider: engine.provider };
      const lines: string[] = [];
      const uppers: string[] = [];
      let bytes = 0;
      for (const item of items) {
        const messages = buildMessages({ project, item: { id: item.item_id, text: itemText(item.data) }, instructions: input.instructions });
        const line = adapter.requestLine(engine, project.labelSchema, item.item_id, messages);
        const size = Buffer.byteLength(line) + 1;
        if (lines.length && (bytes + size > adapter.limits.maxBytes || lines.length >= adapter.limits.maxRequests)) break;
        bytes += size;
        lines.push(line);
        uppers.push(upperBoundCostUsd({ promptChars: messages.reduce((n, m) => n + m.content.length, 0), messages: messages.length }, prices));
      }
      const included = items.slice(0, lines.length);
      // A chunk cut short by the provider's limits ends after its last included item.
      const chunkEnd = existing ? toSeq : lines.length < items.length ? included[included.length - 1].seq + 1 : toSeq;

      if (!existing && input.maxCostUsd) {
        const upperBoundUsd = sumDecimals(uppers);
        const spentUsd = await jobSpend(db, input.tenantId, input.jobId);
        if (compareDecimals(sumDecimals([spentUsd, upperBoundUsd]), input.maxCostUsd) > 0) return { kind: 'budget', toSeq: chunkEnd, upperBoundUsd, spentUsd };
      }

      const rowId = existing?.id ?? derivedUuid(`provider-batch-row:${key}`);
      if (!existing) {
        await db('provider_batches')
          .insert({
            id: rowId,
            tenant_id: input.tenantId,
            job_id: input.jobId,
            engine_id: engine.id,
            provider: engine.provider,
            from_seq: input.fromSeq,
            to_seq: chunkEnd,
            attempt: input.attempt,
            batch_key: key,
            status: 'submitting',
            request_count: lines.length,
          })
          .onConflict('batch_key')
          .ignore();
      }
      // Written ahead, as every provider call: no row, no request. Idempotent by call key.
      const calls: OpenCall[] = included.map((item, i) => ({
        key: callKeyOf(key, item.item_id),
        tenantId: input.tenantId,
        projectId: input.projectId,
        jobId: input.jobId,
        engineId: engine.id,
        model: engine.model,
        costUpperUsd: uppers[i],
        deadlineMs: LEDGER_DEADLINE_MS,
      }));
      for (let i = 0; i < calls.length; i += WRITE_CHUNK) await openUsageBatch(db, calls.slice(i, i + WRITE_CHUNK));

      let snap: BatchSnapshot;
      try {
        snap = await adapter.submit(engine, key, lines);
      } catch (err) {
        // A refusal that asking again cannot change (a 4xx other than 408, 409 and 429): the
        // workflow abandons the batch and annotates the chunk synchronously.
        const status = err instanceof EngineCallError ? err.details.status : undefined;
        if (status !== undefined && status >= 400 && status < 500 && ![408, 409, 429].includes(status)) {
          throw ApplicationFailure.nonRetryable((err as Error).message, 'ProviderBatchRefused');
        }
        throw err;
      }
      return { kind: 'submitted', batch: presentProviderBatch(await recordSnapshot(rowId, snap)) };
    },

    /** One look at a provider batch: its status and counts, stored on its row. */
    async pollProviderBatch(input: { tenantId: string; rowId: string }): Promise<ProviderBatchView> {
      const row = await rowById(input.tenantId, input.rowId);
      if (!row.provider_batch_id || row.ended_at) return presentProviderBatch(row);
      const engine = await engineOf(input.tenantId, row.engine_id);
      return presentProviderBatch(await recordSnapshot(row.id, await adapterFor(engine).retrieve(engine, row.provider_batch_id)));
    },

    /** Asks the provider to cancel a batch still running (what it answered before stays collectable). */
    async cancelProviderBatch(input: { tenantId: string; rowId: string }): Promise<ProviderBatchView> {
      const row = await rowById(input.tenantId, input.rowId);
      if (!row.provider_batch_id || row.ended_at) return presentProviderBatch(row);
      const engine = await engineOf(input.tenantId, row.engine_id);
      return presentProviderBatch(await recordSnapshot(row.id, await adapterFor(engine).cancel(engine, row.provider_batch_id)));
    },

    /**
     * Reads an ended batch's results: each answer is parsed and validated against the label
     * schema as in sync mode and written with the sync path's annotation writer (one per job and
     * item); every request's ledger row is settled — answered ones at the engine's batch price,
     * unanswered ones at 0. Items that came back failed, expired or unparseable stay without an
     * annotation for the next attempt, or (final attempt) get a failed one with the reason.
     */
    async collectProviderBatch(input: CollectProviderBatchInput): Promise<CollectProviderBatchResult> {
      const row = await rowById(input.tenantId, input.rowId);
      const engine = await engineOf(input.tenantId, row.engine_id);
      const adapter = adapterFor(engine);
      const [project, items] = await Promise.all([
        loadProjectContext(db, input.tenantId, input.projectId),
        pendingItems(input.jobId, row.from_seq, row.to_seq),
      ]);
      const results = new Map<string, BatchResult>();
      if (row.provider_batch_id) {
        const snap = await adapter.retrieve(engine, row.provider_batch_id);
        await recordSnapshot(row.id, snap);
        if (!snap.ended) throw new Error(`provider batch ${row.provider_batch_id} has not ended (${snap.status})`);
        for await (const r of adapter.results(engine, snap)) results.set(r.customId, r);
      }
      const status = row.provider_batch_id ? (await rowById(input.tenantId, row.id)).status : 'not_submitted';
      const prices = batchPrices(engine);
      const thresholds = thresholdsFrom(project.routing);
      const job = { tenantId: input.tenantId, projectId: input.projectId, jobId: input.jobId };
      const calls = await openedCalls(items.map((i) => callKeyOf(row.batch_key, i.item_id)));
      const annotations: AiAnnotationRow[] = [];
      const settles: { call: OpenedCall; settlement: Settlement }[] = [];
      let answered = 0;
      let failed = 0;
      for (const item of items) {
        const r = results.get(item.item_id);
        let settlement: Settlement;
        let failure: string | null = null;
        if (r?.ok) {
          const costUsd = computeCostUsd(r.usage, prices);
          try {
            const parsed = parseModelOutput(r.text, project.labelSchema);
            annotations.push(answeredRow({ ...job, itemId: item.item_id }, engine.id, parsed, thresholds));
            settlement = { usage: r.usage, costUsd, latencyMs: 0, outcome: 'ok' };
            answered++;
          } catch (err) {
            failure = `invalid_output: ${(err as Error).message}`;
            settlement = { usage: r.usage, costUsd, latencyMs: 0, outcome: 'invalid_output', error: failure };
          }
        } else {
          failure = r ? r.reason : `batch_${status}: the provider batch returned no result for this request`;
          const usage = r?.usage ?? ZERO_USAGE;
          settlement = { usage, costUsd: computeCostUsd(usage, prices), latencyMs: 0, outcome: r?.outcome === 'invalid_output' ? 'invalid_output' : 'error', error: failure };
        }
        const call = calls.get(callKeyOf(row.batch_key, item.item_id));
        if (call) settles.push({ call, settlement });
        if (failure !== null) {
          failed++;
          if (input.finalAttempt) {
            annotations.push(
              failedRow({ ...job, itemId: item.item_id }, engine.id, `${engine.id} provider batch ${row.provider_batch_id ?? row.id} attempt ${row.attempt + 1}: ${failure}`),
            );
          }
        }
      }
      // Annotations first: a crash between the two leaves ledger rows to settle on retry, never an unpaid answer.
      for (let i = 0; i < annotations.length; i += WRITE_CHUNK) await insertAnnotation(db, annotations.slice(i, i + WRITE_CHUNK));
      await settleAll(settles);
      await ProviderBatch.query(db).where('id', row.id).patch({ collected_at: new Date(), updated_at: new Date() });
      const [counters, spentUsd, remaining] = await Promise.all([
        batchCounters(db, { jobId: input.jobId, fromSeq: row.from_seq, toSeq: row.to_seq }),
        jobSpend(db, input.tenantId, input.jobId),
        pendingItems(input.jobId, row.from_seq, row.to_seq).then((rest) => rest.length),
      ]);
      return { counters, remaining, answered, failed, spentUsd };
    },

    /**
     * Gives up on a batch whose submission kept failing: its requests' ledger rows are settled at
     * 0 (no answer was paid for) and its row marked `abandoned`; the workflow then annotates the
     * chunk synchronously. A batch the provider did create is cancelled first.
     */
    async abandonProviderBatch(input: { tenantId: string; jobId: string; fromSeq: number; attempt: number }): Promise<void> {
      const key = derivedUuid(`provider-batch:${input.jobId}:${input.fromSeq}:${input.attempt}`);
      const row = await ProviderBatch.query(db).where({ batch_key: key, tenant_id: input.tenantId }).first();
      if (!row) return;
      const engine = await loadVisibleEngine(db, input.tenantId, row.engine_id);
      if (row.provider_batch_id && !row.ended_at && engine) await adapterFor(engine).cancel(engine, row.provider_batch_id).catch(() => undefined);
      const items = await pendingItems(input.jobId, row.from_seq, row.to_seq);
      const calls = await openedCalls(items.map((i) => callKeyOf(row.batch_key, i.item_id)));
      await settleAll([...calls.values()].map((call) => ({ call, settlement: { usage: ZERO_USAGE, costUsd: '0', latencyMs: 0, outcome: 'error' as const, error: 'provider batch abandoned' } })));
      await ProviderBatch.query(db).where('id', row.id).patch({ status: 'abandoned', ended_at: new Date(), updated_at: new Date() });
    },
  };
}

export type ProviderBatchActivities = ReturnType<typeof createProviderBatchActivities>;
