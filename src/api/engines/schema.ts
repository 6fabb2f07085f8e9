import { z } from 'zod';
import { paginationQuery } from '../middleware/pagination';

export const ENGINE_PROVIDERS = ['openai', 'anthropic', 'local'] as const;

/** An environment variable NAME: the key itself is read at call time and never stored or echoed. */
export const API_KEY_ENV = /^[A-Z_][A-Z0-9_]*$/;

/** Param names that would hold a secret: keys go through `api_key_env`, never `params`. */
const SECRET_PARAM = /(^|_)(api_?key|secret|password|authorization|bearer)$/i;

const decimal = z
  // The pattern states the 1000 bound too, so /openapi.json allows exactly what is accepted.
  .union([z.number().min(0).max(1000), z.string().regex(/^(?:\d{1,3}(?:\.\d{1,10})?|1000(?:\.0{1,10})?)$/, 'a decimal such as "0.0025"')])
  .transform((v) => (typeof v === 'number' ? v.toFixed(10).replace(/\.?0+$/, '') || '0' : v))
  .refine((v) => Number(v) <= 1000, 'at most 1000 USD per 1k tokens');

export const EnginePrice = z
  .strictObject({
    input_per_1k: decimal.meta({ description: 'USD per 1,000 prompt tokens (number or exact decimal string)' }),
    output_per_1k: decimal.meta({ description: 'USD per 1,000 completion tokens' }),
  })
  .meta({ id: 'EnginePrice' });

export const EngineRateLimit = z
  .strictObject({
    rpm: z.number().int().min(1).max(1_000_000).optional().meta({ description: 'Requests per minute' }),
    tpm: z.number().int().min(1).max(100_000_000).optional().meta({ description: 'Tokens per minute' }),
  })
  .refine((r) => r.rpm !== undefined || r.tpm !== undefined, 'give rpm, tpm or both')
  .meta({ id: 'EngineRateLimit' });

export const EngineParams = z
  .record(z.string().max(100), z.unknown())
  .superRefine((params, ctx) => {
    for (const key of Object.keys(params)) {
      if (SECRET_PARAM.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'secrets belong in an environment variable named by api_key_env' });
    }
    const positiveInt = (key: string, max: number, min = 1) => {
      const v = params[key];
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min && (v as number) <= max)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `must be an integer from ${min} to ${max}` });
      }
    };
    positiveInt('timeout_ms', 600_000, 100);
    positiveInt('max_tokens', 100_000);
    positiveInt('cache_ttl_seconds', 30 * 24 * 3600, 0);
    positiveInt('max_retries', 20, 0);
    if (JSON.stringify(params).length > 10_000) ctx.addIssue({ code: 'custom', message: 'params are limited to 10,000 characters of JSON' });
  })
  .meta({ description: 'Provider parameters (temperature, max_tokens, timeout_ms, cache_ttl_seconds, max_retries — retries of a transient failure on this engine, overriding LLM_RETRIES_PER_ENGINE —, structured_output, …); never secrets' });

const engineFields = {
  name: z.string().trim().min(1).max(200).regex(/\S/, 'must not be blank'),
  provider: z.enum(ENGINE_PROVIDERS),
  model: z.string().trim().min(1).max(200).regex(/\S/, 'must not be blank'),
  base_url: z.url({ protocol: /^https?$/ }).max(2000).nullish().meta({ description: 'OpenAI-compatible or Anthropic base URL; default the provider’s own' }),
  api_key_env: z
    .string()
    .max(128)
    .regex(API_KEY_ENV, 'the NAME of an environment variable (e.g. OPENAI_API_KEY), never the key itself')
    .nullish(),
  params: EngineParams.optional(),
  price: EnginePrice.optional(),
  batch: z.boolean().optional().meta({
    description: 'Whether pre-annotation may use the provider’s batch API with this engine (`mode: "batch"`); default true for `openai` and `anthropic`. A `local` engine has no batch API: `true` is a 422.',
  }),
  batch_price: EnginePrice.nullish().meta({
    description: 'Prices of batch-mode requests; null or absent: half of `price` (what the providers’ batch APIs charge)',
  }),
  rate_limit: EngineRateLimit.nullish(),
  fallback_engine_ids: z
    .array(z.uuid())
    .max(10)
    .refine((ids) => new Set(ids.map((i) => i.toLowerCase())).size === ids.length, 'fallback engines must be unique')
    .optional(),
  enabled: z.boolean().optional(),
};

export const CreateEngineBody = z.strictObject(engineFields).meta({ id: 'CreateEngine' });
export type CreateEngineInput = z.output<typeof CreateEngineBody>;

export const UpdateEngineBody = z
  .strictObject({
    name: engineFields.name.optional(),
    provider: engineFields.provider.optional(),
    model: engineFields.model.optional(),
    base_url: engineFields.base_url,
    api_key_env: engineFields.api_key_env,
    params: engineFields.params,
    price: engineFields.price,
    batch: engineFields.batch,
    batch_price: engineFields.batch_price,
    rate_limit: engineFields.rate_limit,
    fallback_engine_ids: engineFields.fallback_engine_ids,
    enabled: engineFields.enabled,
  })
  .refine((b) => Object.keys(b).length > 0, 'give at least one field to change')
  .meta({ id: 'UpdateEngine', description: 'Fields given replace the stored ones; fields left out are kept.' });
export type UpdateEngineInput = z.output<typeof UpdateEngineBody>;

export const EngineParamsPath = z.object({ engine_id: z.uuid().meta({ description: 'Engine id' }) });

export const ListEnginesQuery = paginationQuery.extend({
  provider: z.enum(ENGINE_PROVIDERS).optional(),
  enabled: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});

export const HEALTH_STATUSES = ['healthy', 'degraded', 'down'] as const;

export const EngineHealth = z
  .object({
    status: z.enum(HEALTH_STATUSES).meta({ description: 'From the circuit breaker: closed → healthy, half-open → degraded, open → down' }),
    circuit: z.enum(['closed', 'open', 'half_open']),
    retry_in_ms: z.number().int().meta({ description: 'Until an open circuit admits a probe' }),
  })
  .meta({ id: 'EngineHealth' });

export const EngineUsage = z
  .object({
    calls: z.number().int().meta({ description: 'Ledger rows: provider calls (settled, in flight or of unknown outcome) plus cache hits' }),
    errors: z.number().int().meta({ description: 'Calls whose outcome was not ok, including unknown outcomes (calls still in flight are not errors)' }),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    tokens: z.number().int(),
    cost_usd: z.string().meta({ description: 'Exact sum of the ledger’s cost_usd (calls still in flight, or of unknown outcome, at their upper-bound cost)' }),
    mean_latency_ms: z.number().nullable().meta({ description: 'Mean latency of settled provider calls (cache hits excluded)' }),
    cache_hits: z.number().int(),
  })
  .meta({ id: 'EngineUsage' });

export const EngineResponse = z
  .object({
    id: z.uuid(),
    name: z.string(),
    provider: z.string(),
    model: z.string(),
    base_url: z.string().nullable(),
    api_key_env: z.string().nullable().meta({ description: 'The variable’s name; the key is never returned' }),
    params: z.record(z.string(), z.unknown()),
    price: z.object({ input_per_1k: z.string(), output_per_1k: z.string() }),
    batch: z.boolean().meta({ description: 'Whether batch mode may use this engine (never for `local`)' }),
    batch_price: z
      .object({ input_per_1k: z.string(), output_per_1k: z.string() })
      .meta({ description: 'The prices batch-mode requests are recorded at in the ledger: the engine’s own, else half of `price`' }),
    batch_price_default: z.boolean().meta({ description: 'true: `batch_price` is the default (half of `price`), not set on the engine' }),
    rate_limit: z.object({ rpm: z.number().optional(), tpm: z.number().optional() }).nullable(),
    fallback_engine_ids: z.array(z.string()),
    enabled: z.boolean(),
    built_in: z.boolean().meta({ description: 'A built-in engine (every tenant may use it; none may change it)' }),
    health: EngineHealth,
    usage: EngineUsage.meta({ description: 'This tenant’s calls to the engine, from the llm_usage ledger' }),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .meta({ id: 'Engine' });

export const HealthProbeBody = z
  .strictObject({
    slow_ms: z.number().int().min(1).max(600_000).optional().meta({ description: 'Latency above which a healthy answer is "degraded" (default 2000)' }),
    timeout_ms: z.number().int().min(100).max(120_000).optional().meta({ description: 'Give up after this long (default min(engine timeout, 15000))' }),
  })
  .meta({ id: 'EngineHealthProbe' });

export const HealthProbeResponse = z
  .object({
    engine_id: z.uuid(),
    status: z.enum(HEALTH_STATUSES),
    latency_ms: z.number().int(),
    error: z.string().optional(),
    circuit: z.enum(['closed', 'open', 'half_open']),
    checked_at: z.string(),
  })
  .meta({ id: 'EngineHealthResult' });

export const MAX_COMPARE_ITEMS = 100;

export const CompareBody = z
  .strictObject({
    project_id: z.uuid(),
    engine_ids: z
      .array(z.uuid())
      .min(2)
      .max(5)
      .refine((ids) => new Set(ids.map((i) => i.toLowerCase())).size === ids.length, 'engines must be distinct'),
    item_ids: z.array(z.uuid()).min(1).max(MAX_COMPARE_ITEMS).optional().meta({ description: 'Items to compare on (those without a gold or final human label are skipped)' }),
    sample_size: z.number().int().min(1).max(MAX_COMPARE_ITEMS).optional().meta({ description: 'Otherwise: this many labelled items, newest first (default 20)' }),
  })
  .refine((b) => !(b.item_ids && b.sample_size !== undefined), { message: 'give item_ids or sample_size, not both', path: ['sample_size'] })
  .meta({ id: 'CompareEngines' });

export const CompareResponse = z
  .object({
    compare_id: z.uuid().meta({ description: 'The ledger’s job_id of these calls' }),
    project_id: z.uuid(),
    items: z.number().int(),
    skipped_item_ids: z.array(z.uuid()).meta({ description: 'Requested items with no gold or final human label' }),
    engines: z.array(
      z.object({
        engine_id: z.uuid(),
        name: z.string(),
        answered: z.number().int(),
        failed: z.number().int(),
        correct: z.number().int(),
        accuracy: z.number().nullable().meta({ description: 'correct / items (a failed call counts as wrong)' }),
        latency_ms: z.object({ p50: z.number().nullable(), mean: z.number().nullable() }),
        cost_usd: z.string(),
        errors: z.array(z.object({ item_id: z.uuid(), reason: z.string() })),
      }),
    ),
    agreement: z.array(
      z.object({
        engine_a: z.uuid(),
        engine_b: z.uuid(),
        n: z.number().int(),
        percent_agreement: z.number().nullable(),
        cohen_kappa: z.number().nullable(),
      }),
    ),
  })
  .meta({ id: 'CompareEnginesResult' });
