import type { EngineRecord } from '../db/models';
import type { CollectedWrites } from './collected-writes';

/**
 * The LLM switcher's contract. Activities and the live suggestion endpoint call
 * `LlmSwitcher.generate`; the engine health probe and engine comparison call the switcher's
 * `probe` and `callAlone` (src/llm/switcher.ts); nothing else talks to a provider.
 */

export type LabelSchemaType = 'single_label' | 'multi_label';

export interface LabelSchema {
  type: LabelSchemaType;
  labels: string[];
  /** Level of measurement (see src/api/projects/schema.ts); the quality report reads it, the prompt does not. */
  ordered?: boolean;
  scale?: { type: 'interval' | 'ratio' };
}

/** A label value as stored and returned by the API. */
export type AnnotationValue = { label: string } | { labels: string[] };

/** A labelled example the prompt (or the local engine) can learn from. */
export interface LabelledExample {
  text: string;
  value: AnnotationValue;
}

/** What a provider needs to know about the project. */
export interface ProjectContext {
  tenantId: string;
  projectId: string;
  labelSchema: LabelSchema;
  guidelines?: string | null;
  /** Few-shot examples (gold labels, later accepted feedback); bounded by the caller. */
  examples?: LabelledExample[];
}

export interface GenerateRequest {
  project: ProjectContext;
  /** The engine to try first; its fallbacks follow on failure. */
  engineId: string;
  /** Extra fallback engine ids after the engine's own (e.g. the project's routing fallbacks). */
  fallbackEngineIds?: string[];
  item: { id?: string; text: string };
  instructions?: string;
  /** For the usage ledger. */
  jobId?: string;
  /**
   * Engine rows the caller already read (visible to the project's tenant), by lower-case id;
   * the switcher reads only the route's other engines.
   */
  engines?: ReadonlyMap<string, EngineRecord>;
  /**
   * Where this call's ledger rows and cache entry go instead of the switcher's writers: a caller
   * that stores them with its own write passes `collectWrites()` and must store what it collects.
   */
  writes?: Pick<CollectedWrites, 'ledger' | 'cache'>;
  /** This request's cache entry, read ahead with its batch's (LlmSwitcher.lookUpCache): not read again. */
  cacheHint?: CacheHint;
  signal?: AbortSignal;
  /**
   * Caps on retrying transient failures on one engine (see retry-policy.ts): the switcher's
   * setting (LLM_RETRIES_PER_ENGINE) and an engine's `params.max_retries` apply, and these lower
   * them — a live request passes a small budget so it never sits in long backoffs.
   */
  retry?: { maxRetries?: number; maxBackoffMs?: number };
  /** Epoch ms: no retry (or backoff wait) starts that would end after it. */
  deadline?: number;
  /**
   * The caller's provider slot, held around each provider call only: the call's ledger row is
   * opened before it, while the attempt waits for the slot, so a freed slot goes straight to a
   * call whose write-ahead is done (pre-annotation's batches; the caller bounds how many wait).
   */
  callSlot?: <T>(call: () => Promise<T>) => Promise<T>;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
}

export interface GenerateResult {
  value: AnnotationValue;
  confidence: number;
  engineId: string;
  model: string;
  latencyMs: number;
  cached: boolean;
  usage: TokenUsage;
  costUsd: string;
  /** Engines tried before this one succeeded, with why each failed. */
  failedAttempts: EngineAttemptFailure[];
}

export interface EngineAttemptFailure {
  engineId: string;
  /** 1-based, per engine: retries of the same engine count up. */
  attempt: number;
  /** e.g. 'error', 'timeout', 'rate_limited', 'invalid_output', 'circuit_open', 'not_found'. */
  outcome: string;
  /** `outcome: message`. */
  reason: string;
}

/** One line per attempt, e.g. `<engine> #2 error: http 500: upstream exploded`. */
export function describeAttempts(attempts: EngineAttemptFailure[]): string {
  return attempts.map((a) => `${a.engineId} #${a.attempt} ${a.reason}`).join('; ');
}

/** Every engine in the route failed; `attempts` says why, in order. */
export class AllEnginesFailedError extends Error {
  constructor(public readonly attempts: EngineAttemptFailure[]) {
    super(
      attempts.length
        ? `all engines failed: ${describeAttempts(attempts)}`
        : 'no engine available',
    );
    this.name = 'AllEnginesFailedError';
  }
}

/** What the cache held for a request's first engine when its batch was looked up. */
export interface CacheHint {
  engineId: string;
  key: string;
  /** The cached answer, or null: there was none (a miss needs no second read). */
  text: string | null;
}

export interface LlmSwitcher {
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /**
   * Reads the cache entries of many requests (a batch's prompts, one engine and route) in one
   * statement; pass each answer as its request's `cacheHint`. Undefined where nothing is cached
   * (caching off, a local engine, an engine not available).
   */
  lookUpCache?(requests: GenerateRequest[]): Promise<(CacheHint | undefined)[]>;
}
