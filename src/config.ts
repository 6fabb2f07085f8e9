import path from 'node:path';
import { z } from 'zod';
import { hostDecision, hostPolicyFor, parseAllowedHosts, type HostPolicy } from './net/host-policy';
import { temporalMetricsBind } from './temporal/metrics-bind';

/**
 * Every setting the service reads, validated once at start. A bad value stops the process
 * with a message naming the variable (see `loadConfig`).
 */
const int = (def: number, min = 0, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max).default(def);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
const optionalUrl = optionalString.pipe(z.string().url().optional());

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HOST: z.string().default('0.0.0.0'),
  PORT: int(3000, 0, 65535),
  /** Where `anno dev` keeps the embedded database and the Temporal dev server's SQLite file. */
  DATA_DIR: z.string().default('.data'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATABASE_POOL_MAX: int(10, 1, 200),
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_URL: optionalUrl,
  TEMPORAL_UI_PORT: int(8233, 1, 65535),
  TEMPORAL_CLI_PATH: optionalString,
  /** A prebuilt workflow bundle (`anno bundle-workflows`); default: dist/workflow-bundle.js when built. */
  WORKFLOW_BUNDLE_PATH: optionalString,
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('annotation'),
  TEMPORAL_LLM_TASK_QUEUE: z.string().min(1).default('annotation-llm'),
  /**
   * Workflow executions a worker keeps in memory between tasks (unset: the SDK's default).
   * 0 turns the cache off: every workflow task replays the whole history, which is how the
   * test suite proves the workflows deterministic.
   */
  TEMPORAL_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(1_000_000).optional(),
  JWT_SECRET: optionalString,
  JWT_JWKS_URL: optionalUrl,
  JWT_ISSUER: optionalString,
  JWT_AUDIENCE: optionalString,
  /**
   * When set, GET /metrics (API and worker) answers only `Authorization: Bearer <METRICS_TOKEN>`
   * (401 otherwise). Unset: open to anyone who can reach the port.
   */
  METRICS_TOKEN: optionalString.pipe(
    z
      .string()
      .min(16, 'must be at least 16 characters')
      .max(512)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces (it is sent in an Authorization header)')
      .optional(),
  ),
  /** `anno worker` serves Prometheus metrics on this port (0: off). */
  WORKER_METRICS_PORT: int(9464, 0, 65535),
  /**
   * Where workers (`anno worker`, `anno dev`) export the Temporal SDK's own metrics (task slots,
   * polls, schedule-to-start latencies) in Prometheus format: `ip:port` or `off`. Unset: HOST's
   * address on port 9465. Not behind METRICS_TOKEN (the SDK's exporter has no authentication).
   */
  TEMPORAL_METRICS_BIND: optionalString,
  /** Requests per minute per user (per IP without a token). */
  RATE_LIMIT_PER_MINUTE: int(1200, 1),
  /**
   * Task-queue fairness weights of tenants, `tenant=weight,tenant=weight` (0.001–1000; others 1):
   * on a backlogged queue a tenant's jobs get dispatch in proportion to its weight.
   */
  TENANT_FAIRNESS_WEIGHTS: optionalString,
  /**
   * Reverse proxies (load balancers) in front of the API whose X-Forwarded-For entries are
   * trusted: the client IP is the entry this many hops from the right. 0: none (the socket's
   * address; X-Forwarded-* ignored, so no client can spoof its IP).
   */
  TRUST_PROXY: int(0, 0, 10),
  /** Largest JSON body in bytes; item imports of 100,000 items fit in the default. */
  BODY_LIMIT_BYTES: int(64 * 1024 * 1024, 1024),
  /** Concurrent LLM calls per worker process, across all jobs. */
  LLM_CONCURRENCY: int(32, 1, 4096),
  /**
   * Evidence a quality metric needs before it can raise an alert (pairable values; docs/QUALITY.md):
   * the default of every project's `min_pairable_values`, which a project's thresholds override.
   */
  QUALITY_MIN_PAIRABLE_VALUES: int(20, 0, 1_000_000_000),
  LLM_TIMEOUT_MS: int(60_000, 100),
  /** An LLM call's in-flight ledger row may be settled as `unknown` this long after the call's timeout. */
  LLM_LEDGER_SETTLE_MARGIN_MS: int(30_000, 0, 86_400_000),
  /** How often workers settle ledger rows left in flight past their deadline (by a crashed process). */
  LLM_LEDGER_SWEEP_INTERVAL_MS: int(60_000, 100, 86_400_000),
  /**
   * Retries of a transient provider failure (5xx, timeout, connection error, 429) for the same
   * item on the same engine, with backoff, before failing over; an engine's params.max_retries
   * overrides it. Live suggestions use at most 1.
   */
  LLM_RETRIES_PER_ENGINE: int(8, 0, 20),
  /** Recent LLM answers the API keeps in memory in front of the cache table (0: none). */
  LLM_MEMORY_CACHE_ENTRIES: int(10_000, 0, 1_000_000),
  PRE_ANNOTATION_BATCH_SIZE: int(50, 1, 1000),
  /** Batches a preAnnotation run completes before it continues as new (keeps history small). */
  PRE_ANNOTATION_BATCHES_PER_RUN: int(100, 1, 1000),
  /** Batch mode: items per provider batch (at most the provider's own limit: OpenAI 50,000, Anthropic 100,000). */
  PROVIDER_BATCH_SIZE: int(10_000, 1, 100_000),
  /** Batch mode: provider batches of one job waiting at once. */
  PROVIDER_BATCHES_IN_FLIGHT: int(4, 1, 100),
  /** Batch mode: first wait before looking at a provider batch, doubling up to the max. */
  PROVIDER_BATCH_POLL_INITIAL_MS: int(5_000, 10, 3_600_000),
  PROVIDER_BATCH_POLL_MAX_MS: int(300_000, 10, 3_600_000),
  /** Batch mode: new provider batches for the items that came back failed, expired or unparseable. */
  PROVIDER_BATCH_RETRIES: int(2, 0, 10),
  /** Batch mode: when at most this many items of a chunk remain to retry, retry them synchronously. */
  PROVIDER_BATCH_SYNC_RETRY_BELOW: int(20, 0, 100_000),
  /** Seconds without a heartbeat before a batch activity is retried on another worker. */
  ACTIVITY_HEARTBEAT_TIMEOUT_SECONDS: int(30, 1, 3600),
  /**
   * How long a decision (POST .../decision, /submit with a task, /conflicts/resolve) waits for its
   * workflow's verdict before answering 503 DECISION_PENDING. The decision is not dropped: sent
   * again with the same idempotency_key it answers the first one's outcome.
   */
  DECISION_WAIT_MS: int(15_000, 100, 600_000),
  /** How often workers start the workflows of open conflicts whose start was cut off (a crash after commit). */
  CONFLICT_SWEEP_INTERVAL_MS: int(60_000, 1000, 3_600_000),
  /**
   * Where engine calls may connect: comma-separated host names (`*.example.com` for subdomains),
   * IPs or CIDRs, `*` for any. Unset: any public address in production (loopback, link-local,
   * private, CGNAT and metadata addresses refused), anything elsewhere (anno dev, tests).
   */
  ENGINE_ALLOWED_HOSTS: optionalString.superRefine((v, ctx) => {
    if (v === undefined) return;
    const parsed = parseAllowedHosts(v);
    if (!parsed.ok) for (const p of parsed.problems) ctx.addIssue({ code: 'custom', message: p });
  }),
  /** Optional OpenAI-compatible engine registered from the environment at start. */
  OPENAI_BASE_URL: optionalUrl,
  OPENAI_API_KEY: optionalString,
  OPENAI_MODEL: optionalString,
});

export type Env = z.infer<typeof envSchema>;

export interface Config extends Env {
  /** Absolute path of DATA_DIR. */
  dataDir: string;
  /** JWT secret actually used (development falls back to a fixed, loudly logged secret). */
  jwtSecret: string | undefined;
  temporalUiUrl: string;
  /** ENGINE_ALLOWED_HOSTS as a policy (its default when unset depends on NODE_ENV). */
  engineHostPolicy: HostPolicy;
  /** TEMPORAL_METRICS_BIND resolved: the socket address of the SDK's Prometheus exporter, or undefined (off). */
  temporalMetricsBind: string | undefined;
  /** TENANT_FAIRNESS_WEIGHTS parsed. */
  tenantFairnessWeights: Record<string, number>;
}

/** `tenant=weight,…` → weights, or the problem with it. */
export function parseFairnessWeights(v: string | undefined): { ok: true; weights: Record<string, number> } | { ok: false; problem: string } {
  const weights: Record<string, number> = {};
  for (const part of (v ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([^=\s]+)=(\d+(?:\.\d+)?)$/.exec(part);
    const w = m ? Number(m[2]) : NaN;
    if (!m || !(w >= 0.001 && w <= 1000)) return { ok: false, problem: `"${part}" is not tenant=weight with a weight from 0.001 to 1000` };
    weights[m[1]] = w;
  }
  return { ok: true, weights };
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export const DEV_JWT_SECRET = 'anno-development-secret-do-not-use-in-production';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET && !e.JWT_JWKS_URL) {
    problems.push('JWT_SECRET or JWT_JWKS_URL: one is required in production');
  }
  if (e.JWT_SECRET && e.JWT_SECRET.length < 16) problems.push('JWT_SECRET: must be at least 16 characters');
  if (e.OPENAI_BASE_URL && !e.OPENAI_MODEL) problems.push('OPENAI_MODEL: required when OPENAI_BASE_URL is set');
  const engineHostPolicy = hostPolicyFor({ nodeEnv: e.NODE_ENV, allowedHosts: e.ENGINE_ALLOWED_HOSTS });
  if (e.OPENAI_BASE_URL && hostDecision(engineHostPolicy, new URL(e.OPENAI_BASE_URL).hostname) === 'refused') {
    problems.push('OPENAI_BASE_URL: its host is not allowed by ENGINE_ALLOWED_HOSTS (or, unset, is not public in production)');
  }
  const metricsBind = temporalMetricsBind(e.TEMPORAL_METRICS_BIND, e.HOST);
  if (!metricsBind.ok) problems.push(`TEMPORAL_METRICS_BIND: ${metricsBind.problem}`);
  const fairness = parseFairnessWeights(e.TENANT_FAIRNESS_WEIGHTS);
  if (!fairness.ok) problems.push(`TENANT_FAIRNESS_WEIGHTS: ${fairness.problem}`);
  if (problems.length) throw new ConfigError(problems);
  return {
    ...e,
    engineHostPolicy,
    temporalMetricsBind: metricsBind.ok ? metricsBind.address : undefined,
    tenantFairnessWeights: fairness.ok ? fairness.weights : {},
    dataDir: path.resolve(e.DATA_DIR),
    jwtSecret: e.JWT_SECRET ?? (e.JWT_JWKS_URL ? undefined : DEV_JWT_SECRET),
    temporalUiUrl: (e.TEMPORAL_UI_URL ?? `http://localhost:${e.TEMPORAL_UI_PORT}`).replace(/\/$/, ''),
  };
}
