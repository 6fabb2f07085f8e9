import fc from 'fast-check';
import type { DocumentedOperation } from '../../../src/api/openapi';
import type { TestApi } from '../api';
import { requestViolations, responseViolations, type Answer } from './contract';
import { operationsOf, requestArbitrary, type FuzzRequest } from './requests';
import type { FuzzWorld } from './world';

export interface FuzzFailure {
  request: FuzzRequest;
  status?: number;
  problems: string[];
  body?: unknown;
}

export interface FuzzReport {
  requests: number;
  seed: number;
  /** Answers ≥ 500 and requests that got no answer (but see `providersDown`). */
  serverErrors: FuzzFailure[];
  /**
   * Documented 503s because every engine of the route failed: the fuzzer itself disables engines
   * and points them at a closed port, so a provider being down is part of the world it makes.
   */
  providersDown: number;
  /**
   * Documented 503 DECISION_PENDING: a decision its workflow did not record within DECISION_WAIT_MS
   * (a worker swamped by the fuzzer's own jobs); a transient with a retry contract, not a crash.
   */
  decisionsPending: number;
  /** Undocumented statuses, bodies off their schema, document-valid requests refused for their shape. */
  contractViolations: FuzzFailure[];
  /** Document-valid requests refused only by a refinement (a rule the document states in words). */
  refinementRefusals: number;
  /** The distinct rules they met, by operation. */
  refinementRules: Set<string>;
  byStatus: Record<number, number>;
  /** Requests per operation and how many of them the server accepted (2xx). */
  byOperation: Record<string, { sent: number; ok: number; refusals: Record<string, number> }>;
}

export interface FuzzOptions {
  api: TestApi;
  /** GET /openapi.json as served. */
  doc: any;
  operations: DocumentedOperation[];
  world: FuzzWorld;
  requests: number;
  seed: number;
  concurrency?: number;
  /** Only these operations (default: every documented one). */
  only?: string[];
  /** NUL, control characters and lone surrogates in strings (see SchemaArbitraryOptions.hostile). */
  hostile?: boolean;
}

/**
 * Sends `requests` generated requests, spread evenly over every documented operation, through
 * the real HTTP stack and checks each exchange against the document. Samples (not fc.assert):
 * a run reports every failure with the request that caused it, and the counts.
 */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzReport> {
  const specs = operationsOf(opts.doc).filter((op) => !opts.only || opts.only.includes(op.operationId));
  const byId = new Map(opts.operations.map((o) => [o.operationId, o]));
  const perOp = Math.ceil(opts.requests / specs.length);
  const arbOpts = { root: opts.doc, byName: opts.world.byName, replaceByName: opts.world.replaceByName, hostile: opts.hostile };
  const queue: FuzzRequest[] = specs.flatMap((op, i) => fc.sample(requestArbitrary(op, arbOpts), { numRuns: perOp, seed: opts.seed + i }));
  // Interleave operations so writes and reads of the same rows meet.
  const order = shuffle(queue, opts.seed);

  const report: FuzzReport = { requests: 0, seed: opts.seed, serverErrors: [], providersDown: 0, decisionsPending: 0, contractViolations: [], refinementRefusals: 0, refinementRules: new Set(), byStatus: {}, byOperation: {} };
  let next = 0;
  const worker = async () => {
    while (next < order.length) {
      const req = order[next++];
      const op = byId.get(req.operationId);
      if (!op) throw new Error(`${req.operationId} is in /openapi.json but not in documentedOperations`);
      await exchange(opts, op, req, report);
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker));
  return report;
}

async function exchange(opts: FuzzOptions, op: DocumentedOperation, req: FuzzRequest, report: FuzzReport): Promise<void> {
  report.requests++;
  const stats = (report.byOperation[req.operationId] ??= { sent: 0, ok: 0, refusals: {} });
  stats.sent++;
  const before = requestViolations(op, req);
  if (before.violations.length) report.contractViolations.push({ request: req, problems: before.violations });
  if (before.refinements.length) report.refinementRefusals++;
  for (const rule of before.refinements) report.refinementRules.add(`${req.operationId}: ${rule.replace(/^[^:]+: /, '')}`);
  const token = { admin: opts.world.tokens.admin, viewer: opts.world.tokens.viewer, garbage: 'not.a.token', none: undefined }[req.credentials];
  let answer: Answer;
  try {
    const res = await opts.api.request(req.url, {
      method: req.method,
      token,
      headers: req.headers,
      body: req.body,
      signal: AbortSignal.timeout(20_000),
    });
    const contentType = res.headers.get('content-type') ?? '';
    const text = await res.text();
    answer = {
      status: res.status,
      contentType,
      body: contentType.startsWith('application/json') ? safeJson(text) : text,
      headers: Object.fromEntries(res.headers.entries()),
    };
  } catch (err) {
    report.serverErrors.push({ request: req, problems: [`no answer: ${(err as Error).message}`] });
    return;
  }
  report.byStatus[answer.status] = (report.byStatus[answer.status] ?? 0) + 1;
  if (answer.status < 300) stats.ok++;
  else if (req.variant === 'valid') {
    const e = (answer.body as { error?: { message?: string; details?: { field: string; message: string }[] } })?.error;
    const detail = e?.details?.[0] ? ` (${e.details[0].field}: ${e.details[0].message})` : '';
    const key = `${answer.status} ${`${e?.message ?? ''}${detail}`.replace(/[0-9a-f-]{36}/g, '<id>').slice(0, 120)}`;
    stats.refusals[key] = (stats.refusals[key] ?? 0) + 1;
  }
  if (isProvidersDown(answer)) report.providersDown++;
  else if (isDecisionPending(answer)) report.decisionsPending++;
  else if (answer.status >= 500) report.serverErrors.push({ request: req, status: answer.status, problems: [`${answer.status}`], body: answer.body });
  const after = responseViolations(op, answer);
  if (after.length) report.contractViolations.push({ request: req, status: answer.status, problems: after, body: answer.body });
}

function isProvidersDown(answer: Answer): boolean {
  const e = (answer.body as { error?: { code?: string; details?: { field: string }[] } })?.error;
  return answer.status === 503 && e?.code === 'SERVICE_UNAVAILABLE' && Boolean(e.details?.length) && e.details!.every((d) => d.field.startsWith('engines.'));
}

function isDecisionPending(answer: Answer): boolean {
  return answer.status === 503 && (answer.body as { error?: { code?: string } })?.error?.code === 'DECISION_PENDING' && answer.headers['retry-after'] === '1';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { unparseable: text.slice(0, 200) };
  }
}

/** Deterministic Fisher–Yates by the run's seed. */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** A few lines a human can act on: counts, then the first failures of each kind. */
export function summarize(report: FuzzReport, show = 8): string {
  const lines = [
    `fuzz: ${report.requests} requests (seed ${report.seed}), ${report.serverErrors.length} server errors, ${report.contractViolations.length} contract violations` +
      `, ${report.providersDown} documented 503s with every engine down, ${report.decisionsPending} decisions pending (503 DECISION_PENDING)` +
      ` (${report.refinementRefusals} document-valid requests met a rule stated only in words)`,
    `statuses: ${Object.entries(report.byStatus).map(([s, n]) => `${s}×${n}`).join(' ')}`,
  ];
  if (report.refinementRules.size) lines.push(`rules in words met: ${[...report.refinementRules].join(' | ')}`);
  for (const [id, s] of Object.entries(report.byOperation).filter(([, s]) => s.ok === 0)) {
    const top = Object.entries(s.refusals).sort((a, b) => b[1] - a[1]).slice(0, 3);
    lines.push(`never 2xx: ${id} (${s.sent} sent; valid ones refused: ${top.map(([k, n]) => `${n}× ${k}`).join('; ')})`);
  }
  for (const [kind, failures] of [['server error', report.serverErrors], ['contract violation', report.contractViolations]] as const) {
    const seen = new Set<string>();
    const distinct = failures.filter((f) => {
      const key = `${f.request.operationId} ${f.status} ${f.problems.join()}`.replace(/[0-9a-f-]{36}/g, '');
      return !seen.has(key) && Boolean(seen.add(key));
    });
    for (const f of distinct.slice(0, show)) {
      lines.push(`${kind}: ${f.request.method} ${f.request.url} [${f.request.variant}, ${f.request.credentials}] → ${f.status ?? '-'}: ${f.problems.join(' | ')}`);
      if (f.request.body) lines.push(`  body: ${f.request.body.slice(0, 300)}`);
      if (f.body) lines.push(`  answer: ${JSON.stringify(f.body).slice(0, 300)}`);
    }
  }
  return lines.join('\n');
}
