import type { Knex } from 'knex';
import { groupCommit } from '../db/group-commit';
import { cteOf, joinCtes, NO_CTES, runCtes, type CteParts } from '../db/statement';
import type { TokenUsage } from './types';
import { UUID_PATTERN } from '../formats';

export type UsageOutcome = 'ok' | 'error' | 'timeout' | 'rate_limited' | 'invalid_output';

/**
 * The `llm_usage` ledger, written ahead (see migrations/20261202000100_ledger_write_ahead.ts):
 * a provider call's row is opened (`in_flight`, cost = its upper bound) BEFORE the call and
 * settled after it; a call that needs no provider (a cache hit) is recorded settled at once.
 * Every write that touches a job's rows moves `jobs.cost_usd` in the same statement, so a job's
 * spend always equals the sum of its rows' cost as they stand — calls in flight at their upper
 * bound. Rows nobody settles are closed as `unknown` by src/llm/ledger-sweep.ts.
 */

/** A settled row written in one go (cache hits, and callers that write after the fact). */
export interface UsageEntry {
  tenantId: string;
  projectId?: string | null;
  jobId?: string | null;
  engineId: string;
  model: string;
  usage: TokenUsage;
  costUsd: string;
  latencyMs: number;
  outcome: UsageOutcome;
  error?: string | null;
  cached?: boolean;
}

/** A provider call about to be made: its row before the call. */
export interface OpenCall {
  /** The call's key (a UUID), the same for every retry of its open: opening twice opens one row. */
  key: string;
  tenantId: string;
  projectId?: string | null;
  jobId?: string | null;
  engineId: string;
  model: string;
  /** The most the call can cost (src/llm/write-ahead.ts); the row counts this until settled. */
  costUpperUsd: string;
  /** After this many ms (from the write, by the database's clock) the sweeper may settle the row. */
  deadlineMs: number;
}

/** An opened row: settle it by this handle. */
export interface OpenedCall {
  id: string;
  jobId: string | null;
}

/** What the call turned out to be. */
export interface Settlement {
  usage: TokenUsage;
  costUsd: string;
  latencyMs: number;
  outcome: UsageOutcome;
  error?: string | null;
}

const MAX_ERROR_CHARS = 2000;

/**
 * Writes one settled ledger row. A row with a job also adds its cost to `jobs.cost_usd` in the
 * same statement, so a job's spend always equals the sum of its ledger rows (budgets read it).
 */
export async function recordUsage(db: Knex, entry: UsageEntry): Promise<void> {
  await recordUsageBatch(db, [entry]);
}

/**
 * Writes settled ledger rows and adds each job's share to `jobs.cost_usd`, in ONE statement (one
 * round trip, all or nothing). The job total adds the costs as the rows store them (RETURNING),
 * so it stays exactly their sum. A batch without cost takes no lock on any job's row, which every
 * concurrent call of a job would otherwise queue on.
 */
export async function recordUsageBatch(db: Knex, entries: UsageEntry[]): Promise<void> {
  if (entries.length) await runCtes(db, ledgerCtes(db, entries, []));
}

/**
 * Opens rows for calls about to be made (`in_flight`, cost = upper bound, deadline by the
 * database's clock) and adds their upper bounds to their jobs, in ONE statement. Idempotent by
 * call key: a retry whose first attempt committed unseen (the connection dropped with the
 * answer) gets that row back and adds nothing twice. Answers the rows' handles in the calls' order.
 */
export async function openUsageBatch(db: Knex, calls: OpenCall[]): Promise<OpenedCall[]> {
  if (!calls.length) return [];
  const insert = db('llm_usage').insert(calls.map((c) => openRow(db, c))).toSQL();
  const result = await db.raw(
    `WITH upserted AS (${insert.sql}
            ON CONFLICT (call_key) WHERE state = 'in_flight' DO UPDATE SET call_key = EXCLUDED.call_key
            RETURNING id, call_key, job_id, cost_usd, (xmax = 0) AS inserted),
          rows AS (SELECT job_id, cost_usd FROM upserted WHERE inserted), ${JOB_SPEND}, moved AS (${ADD_SPEND})
     SELECT id, call_key FROM upserted`,
    insert.bindings,
  );
  const ids = new Map((result.rows as { id: string | number; call_key: string }[]).map((r) => [r.call_key.toLowerCase(), String(r.id)]));
  return calls.map((c) => {
    const id = ids.get(c.key.toLowerCase());
    if (!id) throw new Error(`openUsageBatch: no row for call ${c.key}`);
    return { id, jobId: uuidOrNull(c.jobId) };
  });
}

/**
 * A cache read and, only when it misses, the call's row opened, in ONE statement: a live call
 * makes one round trip where a read and then an open would make two. Answers the entry (and
 * opens nothing) or the opened row's handle. Idempotent by call key like openUsageBatch, and it
 * moves the job's spend the same way (JOB_SPEND, ADD_SPEND).
 */
export async function openUsageUnlessCached(
  db: Knex,
  cacheKey: string,
  call: OpenCall,
): Promise<{ hit: { text: string; expiresAt: Date }; opened?: undefined } | { hit?: undefined; opened: OpenedCall }> {
  const row = openRow(db, call);
  // INSERT … SELECT (not VALUES) so the row can be conditional; each value cast to its column's type.
  const result = await db.raw(
    `WITH hit AS (SELECT response_text, expires_at FROM llm_cache WHERE key = ? AND expires_at > now()),
          upserted AS (
            INSERT INTO llm_usage (tenant_id, project_id, job_id, engine_id, model, call_key, cost_usd, cost_upper_usd, outcome, state, deadline_at)
            SELECT ?, CAST(? AS uuid), CAST(? AS uuid), CAST(? AS uuid), ?, CAST(? AS uuid), CAST(? AS numeric), CAST(? AS numeric), ?, ?, now() + CAST(? AS int) * interval '1 millisecond'
            WHERE NOT EXISTS (SELECT 1 FROM hit)
            ON CONFLICT (call_key) WHERE state = 'in_flight' DO UPDATE SET call_key = EXCLUDED.call_key
            RETURNING id, job_id, cost_usd, (xmax = 0) AS inserted),
          rows AS (SELECT job_id, cost_usd FROM upserted WHERE inserted), ${JOB_SPEND}, moved AS (${ADD_SPEND})
     SELECT (SELECT response_text FROM hit) AS response_text, (SELECT expires_at FROM hit) AS expires_at, (SELECT id FROM upserted) AS id`,
    [cacheKey, row.tenant_id, row.project_id, row.job_id, row.engine_id, row.model, row.call_key, row.cost_usd, row.cost_upper_usd, row.outcome, row.state, int(call.deadlineMs)],
  ).options({ name: 'llm_read_cache_or_open_usage' }); // fixed text: prepared once per connection
  const answer = result.rows[0] as { response_text: string | null; expires_at: Date | string | null; id: string | number | null };
  if (answer.response_text !== null) return { hit: { text: answer.response_text, expiresAt: new Date(answer.expires_at!) } };
  if (answer.id === null) throw new Error(`openUsageUnlessCached: no row for call ${call.key}`);
  return { opened: { id: String(answer.id), jobId: row.job_id } };
}

/**
 * Settles opened rows (real usage, cost, outcome, latency) and moves each job's `cost_usd` by
 * (real − upper bound), in ONE statement. A row already settled is left alone; one the sweeper
 * closed as `unknown` is corrected to what the call really was.
 */
export async function settleUsageBatch(db: Knex, settles: { call: OpenedCall; settlement: Settlement }[]): Promise<void> {
  if (settles.length) await runCtes(db, ledgerCtes(db, [], settles));
}

/**
 * The ledger's writes as CTEs for one statement (see src/db/statement.ts): settled rows inserted,
 * opened rows settled (a row already settled is left alone; one the sweeper closed as `unknown`
 * is corrected to what the call really was), and each job's `cost_usd` moved by the inserted
 * rows' cost plus the settled rows' (real − upper bound) — one UPDATE per job, as the rows store
 * their costs, so a job's spend stays exactly the sum of its rows. Rows without cost lock no job,
 * which every concurrent call of a job would otherwise queue on.
 */
export function ledgerCtes(db: Knex, entries: UsageEntry[], settles: { call: OpenedCall; settlement: Settlement }[]): CteParts {
  const parts: CteParts[] = [];
  const deltas: string[] = [];
  if (entries.length) {
    parts.push(cteOf('ledger_rows', db('llm_usage').insert(entries.map((e) => usageRow(db, e))).returning(['job_id', 'cost_usd'])));
    deltas.push('SELECT job_id, cost_usd AS delta FROM ledger_rows');
  }
  if (settles.length) {
    const values = settles.map(() => '(CAST(? AS bigint), CAST(? AS int), CAST(? AS int), CAST(? AS int), CAST(? AS numeric(20,10)), CAST(? AS int), CAST(? AS text), CAST(? AS text))').join(', ');
    parts.push({
      ctes: [
        { name: 'ledger_settles (id, prompt_tokens, completion_tokens, cached_tokens, cost_usd, latency_ms, outcome, error)', sql: `VALUES ${values}` },
        {
          name: 'ledger_settled',
          sql: `UPDATE llm_usage u SET state = 'settled', prompt_tokens = v.prompt_tokens, completion_tokens = v.completion_tokens,
                       cached_tokens = v.cached_tokens, cost_usd = v.cost_usd, latency_ms = v.latency_ms, outcome = v.outcome,
                       error = v.error, settled_at = now()
                  FROM ledger_settles v WHERE u.id = v.id AND u.state <> 'settled'
                RETURNING u.job_id, u.cost_usd - u.cost_upper_usd AS delta`,
        },
      ],
      bindings: settles.flatMap(({ call, settlement: s }) => [
        call.id, int(s.usage.promptTokens), int(s.usage.completionTokens), int(s.usage.cachedTokens), s.costUsd, int(s.latencyMs), s.outcome, errorText(s.error),
      ]),
    });
    deltas.push('SELECT job_id, delta FROM ledger_settled');
  }
  if (!deltas.length) return NO_CTES;
  parts.push({
    ctes: [
      { name: 'ledger_spend', sql: `SELECT job_id, sum(delta) AS delta FROM (${deltas.join(' UNION ALL ')}) d WHERE job_id IS NOT NULL GROUP BY job_id` },
      { name: 'ledger_moved', sql: 'UPDATE jobs SET cost_usd = jobs.cost_usd + s.delta FROM ledger_spend s WHERE jobs.id = s.job_id AND s.delta <> 0' },
    ],
    bindings: [],
  });
  return joinCtes(...parts);
}

/** Adds the costs in `rows` (job_id, cost_usd) to their jobs; rows without cost lock no job. */
const JOB_SPEND = `spend AS (SELECT job_id, sum(cost_usd) AS cost FROM rows WHERE job_id IS NOT NULL GROUP BY job_id)`;
const ADD_SPEND = `UPDATE jobs SET cost_usd = jobs.cost_usd + spend.cost FROM spend WHERE jobs.id = spend.job_id AND spend.cost <> 0`;

/** Where a call's settled rows and settlements go; the switcher's writer, or a caller's collector. */
export interface DeferredLedger {
  /** Resolves once the settled row is written (or collected), rejects if it could not be. */
  record(entry: UsageEntry): Promise<void>;
  /** Resolves once the opened row is settled (or the settlement collected), rejects if it could not be. */
  settle(call: OpenedCall, settlement: Settlement): Promise<void>;
}

export interface LedgerWriter extends DeferredLedger {
  /** Resolves with the row's handle once it is written (before the provider call), rejects if it could not be. */
  open(call: OpenCall): Promise<OpenedCall>;
}

/** The ledger's writer: every kind of write by group commit (see src/db/group-commit.ts), one statement per batch. */
export function createLedgerWriter(db: Knex, maxBatch = 200): LedgerWriter {
  const records = groupCommit<UsageEntry>((entries) => recordUsageBatch(db, entries), maxBatch);
  const opens = groupCommit<OpenCall, OpenedCall>((calls) => openUsageBatch(db, calls), maxBatch);
  const settles = groupCommit<{ call: OpenedCall; settlement: Settlement }>((s) => settleUsageBatch(db, s), maxBatch);
  return {
    record: (entry) => records.add(entry),
    open: (call) => opens.add(call),
    settle: (call, settlement) => settles.add({ call, settlement }),
  };
}

function scope(entry: { tenantId: string; projectId?: string | null; jobId?: string | null; engineId: string; model: string }) {
  return {
    tenant_id: entry.tenantId,
    // uuid columns: an id that is not a UUID (a caller's free-form key) is left out, not fatal.
    project_id: uuidOrNull(entry.projectId),
    job_id: uuidOrNull(entry.jobId),
    engine_id: uuidOrNull(entry.engineId),
    model: entry.model,
  };
}

function usageRow(db: Knex, entry: UsageEntry) {
  return {
    ...scope(entry),
    prompt_tokens: int(entry.usage.promptTokens),
    completion_tokens: int(entry.usage.completionTokens),
    cached_tokens: int(entry.usage.cachedTokens),
    cost_usd: entry.costUsd,
    latency_ms: int(entry.latencyMs),
    outcome: entry.outcome,
    error: errorText(entry.error),
    cached: entry.cached ?? false,
    state: 'settled',
    settled_at: db.fn.now(),
  };
}

function openRow(db: Knex, call: OpenCall) {
  return {
    ...scope(call),
    call_key: call.key,
    cost_usd: call.costUpperUsd,
    cost_upper_usd: call.costUpperUsd,
    outcome: 'in_flight',
    state: 'in_flight',
    deadline_at: db.raw(`now() + ?::int * interval '1 millisecond'`, [int(call.deadlineMs)]),
  };
}

function errorText(error: string | null | undefined): string | null {
  return error ? error.slice(0, MAX_ERROR_CHARS) : null;
}

function uuidOrNull(v: string | null | undefined): string | null {
  return v && UUID_PATTERN.test(v) ? v : null;
}

function int(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.min(2_147_483_647, Math.round(n)) : 0;
}
