import crypto from 'node:crypto';
import Router from '@koa/router';
import type { Knex } from 'knex';
import { fn, type PartialModelObject } from 'objection';
import type { Principal } from '../../auth/jwt';
import { loadVisibleEngine, loadVisibleEngines } from '../../llm/engine-store';
import { Engine, type EngineRecord, type EngineRow } from '../../db/models';
import { recordAudit } from '../../data/audit';
import type { Switcher } from '../../llm/switcher';
import { loadProjectContext } from '../../data/project-context';
import type { ApiContextExtras, ApiDeps, ApiState } from '../deps';
import { conflict, forbidden, notFound, serviceUnavailable, validationFailed } from '../errors';
import { listModelPage, pageOf, paged } from '../middleware/pagination';
import { API_PREFIX, defineRoute } from '../openapi';
import { ensureTenant, findProjectForPrincipal } from '../scope';
import { compareEngines, DEFAULT_COMPARE_SAMPLE, loadReferenceItems } from './compare';
import { probeEngine } from './health-probe';
import { assertEngineUrlAllowed, egressOf } from './guard';
import { presentEngine } from './presenter';
import {
  CompareBody,
  CompareResponse,
  CreateEngineBody,
  EngineParamsPath,
  EngineResponse,
  HealthProbeBody,
  HealthProbeResponse,
  ListEnginesQuery,
  UpdateEngineBody,
  type UpdateEngineInput,
} from './schema';
import { assertUsableEngines, findVisibleEngine, usageByEngine, visibleEngines } from './store';

export const enginesRouter = new Router<ApiState, ApiContextExtras>();

const TAGS = ['engines'];

export function requireSwitcher(deps: ApiDeps): Switcher {
  if (!deps.switcher) throw serviceUnavailable('The LLM switcher is not configured in this API process');
  return deps.switcher;
}

async function presentOne(db: Knex, deps: ApiDeps, principal: Principal, row: EngineRow) {
  const usage = await usageByEngine(db, principal.tenantId, { engineIds: [row.id] });
  return presentEngine(row, deps.switcher, usage.get(row.id));
}

function fallbackFields(ids: string[] | undefined) {
  return (ids ?? []).map((id, i) => ({ id, field: `fallback_engine_ids.${i}` }));
}

/** Columns from a create or update body (only the fields given); the model stores the json ones as jsonb. */
function columnsOf(body: UpdateEngineInput): PartialModelObject<Engine> {
  const c: PartialModelObject<Engine> = {};
  if (body.name !== undefined) c.name = body.name;
  if (body.provider !== undefined) c.provider = body.provider;
  if (body.model !== undefined) c.model = body.model;
  if (body.base_url !== undefined) c.base_url = body.base_url ?? null;
  if (body.api_key_env !== undefined) c.api_key_env = body.api_key_env ?? null;
  if (body.params !== undefined) c.params = body.params;
  if (body.price !== undefined) {
    c.price_input_per_1k = body.price.input_per_1k;
    c.price_output_per_1k = body.price.output_per_1k;
  }
  if (body.batch !== undefined) c.batch = body.batch;
  if (body.batch_price !== undefined) {
    c.batch_price_input_per_1k = body.batch_price?.input_per_1k ?? null;
    c.batch_price_output_per_1k = body.batch_price?.output_per_1k ?? null;
  }
  if (body.rate_limit !== undefined) c.rate_limit = body.rate_limit;
  if (body.fallback_engine_ids !== undefined) c.fallback_engine_ids = body.fallback_engine_ids;
  if (body.enabled !== undefined) c.enabled = body.enabled;
  return c;
}

/** A `local` engine has no batch API: `batch: true` on one is a 422 naming the field. */
function assertBatchCapable(provider: string, batch: boolean | undefined) {
  if (provider === 'local' && batch === true) throw validationFailed([{ field: 'batch', message: 'a local engine has no batch API' }]);
}

/** What the audit log keeps of a change: never a secret (there are none in these columns). */
function auditDetails(body: UpdateEngineInput) {
  return { fields: Object.keys(body).sort(), ...body };
}

async function assertNameFree(db: Knex, tenantId: string, name: string, exceptId?: string) {
  const q = Engine.query(db).where({ tenant_id: tenantId, name });
  if (exceptId) q.whereNot('id', exceptId);
  if (await q.first().select('id')) throw conflict(`An engine named "${name}" already exists`, [{ field: 'name', message: 'already in use' }]);
}

defineRoute(
  enginesRouter,
  {
    method: 'get',
    path: '/annotation/engines',
    tags: TAGS,
    summary: 'List engines',
    description:
      'The tenant’s engines and the built-in ones (`built_in: true`), built-ins first then by name, each with its health (the switcher’s circuit breaker in this API process) and usage (this tenant’s calls, from the `llm_usage` ledger). Keys are never returned: only `api_key_env`, the variable’s name.',
    request: { query: ListEnginesQuery },
    responses: { 200: { description: 'A page of engines', schema: pageOf(EngineResponse) } },
  },
  async (ctx) => {
    const { query } = ctx.state.input;
    const { db } = ctx.deps;
    const principal = ctx.state.principal!;
    const base = visibleEngines(db, principal.tenantId);
    if (query.provider) base.andWhere('provider', query.provider);
    if (query.enabled !== undefined) base.andWhere('enabled', query.enabled);
    const { rows, total } = await listModelPage(base, query, (q) =>
      q.select('*').orderByRaw('(tenant_id IS NOT NULL), name, id'),
    );
    const usage = await usageByEngine(db, principal.tenantId, { engineIds: rows.map((r) => r.id) });
    ctx.body = paged(
      rows.map((r) => presentEngine(r, ctx.deps.switcher, usage.get(r.id))),
      query,
      total,
    );
  },
);

defineRoute(
  enginesRouter,
  {
    method: 'get',
    path: '/annotation/engines/:engine_id',
    tags: TAGS,
    summary: 'Get an engine',
    request: { params: EngineParamsPath },
    responses: { 200: { description: 'The engine', schema: EngineResponse } },
  },
  async (ctx) => {
    const principal = ctx.state.principal!;
    const row = await findVisibleEngine(ctx.deps.db, principal.tenantId, ctx.state.input.params.engine_id);
    if (!row) throw notFound('engine', ctx.state.input.params.engine_id);
    ctx.body = await presentOne(ctx.deps.db, ctx.deps, principal, row);
  },
);

defineRoute(
  enginesRouter,
  {
    method: 'post',
    path: '/annotation/engines',
    tags: TAGS,
    summary: 'Register an engine',
    description:
      'Registers an engine of the caller’s tenant. Engines are shared by all the tenant’s projects, so this takes `admin` or a `manager` whose token has no `projects` restriction (a restricted manager gets 403). The host it will call — `base_url`, else the provider’s API — must be allowed by the server’s `ENGINE_ALLOWED_HOSTS` (unset: only public addresses in production): otherwise a 422 naming `base_url`; calls are checked again, after DNS resolution, when made, and never follow redirects. `api_key_env` names the environment variable the key is read from at call time (e.g. `OPENAI_API_KEY`); a key itself is rejected and never stored. `fallback_engine_ids` must name engines the tenant can see. A name already used by another engine of the tenant is a 409.',
    roles: ['manager'],
    tenantWide: true, // every project of the tenant may route to it
    request: { body: CreateEngineBody },
    responses: { 201: { description: 'The new engine', schema: EngineResponse } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const { db } = ctx.deps;
    const principal = ctx.state.principal!;
    await assertEngineUrlAllowed(egressOf(ctx.deps), body.provider, body.base_url);
    assertBatchCapable(body.provider, body.batch);
    await assertUsableEngines(db, principal, fallbackFields(body.fallback_engine_ids));
    await assertNameFree(db, principal.tenantId, body.name);
    const id = crypto.randomUUID();
    const row = await db.transaction(async (trx) => {
      await ensureTenant(trx, principal.tenantId);
      const inserted = await Engine.query(trx)
        .insert({ id, tenant_id: principal.tenantId, ...columnsOf(body), ...(body.provider === 'local' ? { batch: false } : {}) })
        .returning('*');
      await recordAudit(trx, {
        tenant_id: principal.tenantId,
        actor: principal.userId,
        action: 'engine.created',
        entity_type: 'engine',
        entity_id: id,
        details: auditDetails(body),
      });
      return inserted;
    });
    ctx.status = 201;
    ctx.set('Location', `${API_PREFIX}/annotation/engines/${id}`);
    ctx.body = presentEngine(row, ctx.deps.switcher, undefined);
  },
);

defineRoute(
  enginesRouter,
  {
    method: 'put',
    path: '/annotation/engines/:engine_id',
    tags: TAGS,
    summary: 'Update an engine',
    description:
      'Changes the fields given and keeps the others. Takes `admin` or a `manager` without a `projects` restriction (else 403); a new `base_url` or `provider` is checked against `ENGINE_ALLOWED_HOSTS` as at registration (422 naming `base_url`). Built-in engines are read-only: 403. Another tenant’s engine is a 404. An engine may not list itself among its fallbacks (422).',
    roles: ['manager'],
    tenantWide: true, // every project of the tenant may route to it
    request: { params: EngineParamsPath, body: UpdateEngineBody },
    responses: { 200: { description: 'The updated engine', schema: EngineResponse } },
  },
  async (ctx) => {
    const { params, body } = ctx.state.input;
    const { db } = ctx.deps;
    const principal = ctx.state.principal!;
    const existing = await findVisibleEngine(db, principal.tenantId, params.engine_id);
    if (!existing) throw notFound('engine', params.engine_id);
    if (existing.tenant_id === null) throw forbidden('Built-in engines are read-only; register an engine of your own instead');
    if (body.base_url !== undefined || body.provider !== undefined) {
      await assertEngineUrlAllowed(egressOf(ctx.deps), body.provider ?? existing.provider, body.base_url !== undefined ? body.base_url : existing.base_url);
    }
    assertBatchCapable(body.provider ?? existing.provider, body.batch);
    await assertUsableEngines(db, principal, fallbackFields(body.fallback_engine_ids), existing.id);
    if (body.name !== undefined) await assertNameFree(db, principal.tenantId, body.name, existing.id);
    const row = await db.transaction(async (trx) => {
      const [updated] = await Engine.query(trx)
        .where({ id: existing.id, tenant_id: principal.tenantId })
        .patch({ ...columnsOf(body), ...((body.provider ?? existing.provider) === 'local' ? { batch: false } : {}), updated_at: fn.now() })
        .returning('*');
      await recordAudit(trx, {
        tenant_id: principal.tenantId,
        actor: principal.userId,
        action: 'engine.updated',
        entity_type: 'engine',
        entity_id: existing.id,
        details: auditDetails(body),
      });
      return updated;
    });
    ctx.body = await presentOne(db, ctx.deps, principal, row);
  },
);

defineRoute(
  enginesRouter,
  {
    method: 'post',
    path: '/annotation/engines/:engine_id/health',
    tags: TAGS,
    summary: 'Probe an engine',
    description:
      'Makes a real call to the engine’s provider with a tiny prompt, bypassing the cache (and the breaker’s admission, so an open circuit can be probed). `down`: the call failed (`error` names the failure class — `connection_failed`, `timeout`, `http_4xx`, `http_5xx`, `redirect_not_followed`, `rate_limited`, `invalid_output`, `host_not_allowed`, `provider_error`, `ledger_unavailable` — never the raw socket error); `degraded`: it answered, but slower than `slow_ms` (default 2000) or the circuit breaker is not closed; `healthy` otherwise. The call is recorded in the usage ledger. The body is optional.',
    roles: ['manager'],
    request: { params: EngineParamsPath, body: HealthProbeBody },
    responses: { 200: { description: 'The probe result', schema: HealthProbeResponse } },
  },
  async (ctx) => {
    const { params, body } = ctx.state.input;
    const switcher = requireSwitcher(ctx.deps);
    const principal = ctx.state.principal!;
    const engine = await loadVisibleEngine(ctx.deps.db, principal.tenantId, params.engine_id);
    if (!engine) throw notFound('engine', params.engine_id);
    const result = await probeEngine(switcher, engine, principal.tenantId, { slowMs: body.slow_ms, timeoutMs: body.timeout_ms });
    ctx.body = { engine_id: engine.id, ...result, checked_at: new Date().toISOString() };
  },
);

defineRoute(
  enginesRouter,
  {
    method: 'post',
    path: '/annotation/engines/compare',
    tags: TAGS,
    summary: 'Compare engines on labelled items',
    description:
      'Runs each engine alone (no fallback, no cache) on items that have a gold label or a final human label — the given `item_ids` (others are skipped and listed), or the newest `sample_size` (default 20, at most 100) — and reports per engine accuracy against those labels, latency p50 and mean, exact cost (ledger rows carry `job_id = compare_id`), and pairwise agreement between engines (percent agreement and Cohen’s kappa over items both answered). Synchronous: answers when every call is done.',
    roles: ['manager'],
    request: { body: CompareBody },
    responses: { 200: { description: 'The comparison', schema: CompareResponse } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const { db } = ctx.deps;
    const switcher = requireSwitcher(ctx.deps);
    const principal = ctx.state.principal!;
    const project = await findProjectForPrincipal(db, principal, body.project_id);
    const found = await loadVisibleEngines(db, principal.tenantId, body.engine_ids);
    const issues = body.engine_ids
      .map((id, i) => ({ id, field: `engine_ids.${i}` }))
      .filter((w) => !found.has(w.id.toLowerCase()))
      .map((w) => ({ field: w.field, message: `engine ${w.id} not found` }));
    if (issues.length) throw validationFailed(issues);
    const engines: EngineRecord[] = body.engine_ids.map((id) => found.get(id.toLowerCase())!);
    const { items, skipped } = await loadReferenceItems(db, project.id, { itemIds: body.item_ids, sample: body.sample_size ?? DEFAULT_COMPARE_SAMPLE });
    if (!items.length) {
      throw validationFailed([{ field: body.item_ids ? 'item_ids' : 'project_id', message: 'no items with a gold label or a final human label to compare on' }]);
    }
    const context = await loadProjectContext(db, principal.tenantId, project.id);
    // The items under test must not be their own few-shot examples.
    const testTexts = new Set(items.map((i) => i.text));
    context.examples = (context.examples ?? []).filter((e) => !testTexts.has(e.text));
    const result = await compareEngines(db, switcher, { project: context, engines, items });
    ctx.body = { compare_id: result.compare_id, project_id: project.id, items: items.length, skipped_item_ids: skipped, engines: result.engines, agreement: result.agreement };
  },
);
