import crypto from 'node:crypto';
import Router from '@koa/router';
import { BUILTIN_LOCAL_ENGINE_ID } from '../../llm/builtin-engines';
import { Suggestion } from '../../db/models';
import { collectWrites } from '../../llm/collected-writes';
import { AllEnginesFailedError } from '../../llm/types';
import type { ApiContextExtras, ApiState } from '../deps';
import { notFound, serviceUnavailable, validationFailed } from '../errors';
import { requireSwitcher } from '../engines/routes';
import { listModelPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { findProjectForPrincipal } from '../scope';
import { loadSuggestionContext } from './context';
import { recordSuggestion, type NewSuggestion } from './record';
import { recordFeedback } from './feedback';
import { presentHistoryEntry, presentSuggestion } from './presenter';
import { FEEDBACK_ROLES } from './ws-handler';
import { FeedbackBody, FeedbackResponse, HistoryEntry, HistoryQuery, SuggestionBody, SuggestionResponse } from './schema';

export const suggestionsRouter = new Router<ApiState, ApiContextExtras>();

const TAGS = ['suggestions'];
/** A person is waiting: one quick retry of a transient failure per engine, then fail over. */
const LIVE_RETRY = { maxRetries: 1, maxBackoffMs: 250 };
/** Suggestions and feedback: the people who annotate (admin always passes). */
const WRITERS = FEEDBACK_ROLES;

defineRoute(
  suggestionsRouter,
  {
    method: 'post',
    path: '/annotation/suggestion',
    tags: TAGS,
    summary: 'Suggest a label now',
    description:
      'Annotates one item (or free text) through the LLM switcher with its response cache: the given engine or the project’s routing default (else the built-in local engine), then its fallbacks and the project’s. The prompt carries the project’s few-shot examples: accepted and corrected suggestions first, then gold labels. The suggestion is recorded (see /annotation/suggestions/history) and a `suggestion.ready` event is sent to the project’s WebSocket subscribers. A transient failure (5xx, timeout, 429 asking for at most 250 ms) is retried once on the same engine before failing over. `failed_attempts` lists every attempt that failed before the one that answered; when all fail the answer is a 503 whose details give each attempt’s reason.',
    roles: [...WRITERS],
    request: { body: SuggestionBody },
    responses: { 200: { description: 'The suggestion', schema: SuggestionResponse } },
  },
  async (ctx) => {
    const { body } = ctx.state.input;
    const { db } = ctx.deps;
    const switcher = requireSwitcher(ctx.deps);
    const principal = ctx.state.principal!;
    // The project, its prompt examples, the item and the route's engines: one query.
    const { context, routing, item, engines } = await loadSuggestionContext(db, principal, {
      projectId: body.project_id,
      itemId: body.item_id,
      engineId: body.engine_id,
    });
    if (body.item_id && !item) throw notFound('item', body.item_id);
    if (body.engine_id && !engines.has(body.engine_id.toLowerCase())) {
      throw validationFailed([{ field: 'engine_id', message: `engine ${body.engine_id} not found` }]);
    }
    const engineId = body.engine_id ?? routing.default_engine_id ?? BUILTIN_LOCAL_ENGINE_ID;
    const text = item ? (typeof item.data?.text === 'string' ? item.data.text : JSON.stringify(item.data)) : body.data!.text;

    // The calls' ledger rows and cache entry are written with the suggestion (see recordSuggestion).
    const writes = collectWrites();
    let result;
    try {
      result = await switcher.generate({
        project: context,
        engineId,
        fallbackEngineIds: Array.isArray(routing.fallback_engine_ids) ? routing.fallback_engine_ids : [],
        item: { id: body.item_id, text },
        instructions: body.instructions,
        engines,
        writes,
        retry: LIVE_RETRY,
        // No retry starts that would end later than one call's timeout from now.
        deadline: Date.now() + ctx.deps.config.LLM_TIMEOUT_MS,
      });
    } catch (err) {
      await writes.store(db).catch((e) => ctx.state.log.error({ err: e }, 'llm usage ledger write failed'));
      if (err instanceof AllEnginesFailedError) {
        throw serviceUnavailable(
          'Every engine of the route failed',
          err.attempts.map((a) => ({ field: `engines.${a.engineId}`, message: a.reason })),
        );
      }
      throw err;
    }

    const failedAttempts = result.failedAttempts.map((f) => ({ engine_id: f.engineId, reason: f.reason }));
    const id = crypto.randomUUID();
    const row: NewSuggestion = {
      id,
      tenant_id: principal.tenantId,
      project_id: context.projectId,
      item_id: body.item_id ?? null,
      text,
      engine_id: result.engineId,
      value: result.value,
      confidence: result.confidence,
      cached: result.cached,
      latency_ms: result.latencyMs,
      failed_attempts: failedAttempts,
      created_by: principal.userId,
      created_at: new Date(),
    };
    const presented = presentSuggestion(row, result.model);
    await recordSuggestion(db, row, writes, { ...presented, created_by: principal.userId });
    ctx.body = presented;
  },
);

defineRoute(
  suggestionsRouter,
  {
    method: 'post',
    path: '/annotation/feedback',
    tags: TAGS,
    summary: 'Accept, reject or correct a suggestion',
    description:
      'One feedback per suggestion (a second is a 409). `corrected_value` is required for `modify` and must fit the project’s label schema (422 otherwise). Accepted and corrected texts join the project’s few-shot pool (one entry per normalized text, the newest 50 kept), so later prompts of the project — live suggestions and pre-annotation — carry them; a rejection removes that exact example. Acceptance statistics per engine and label are in GET /annotation/metrics.',
    roles: [...WRITERS],
    request: { body: FeedbackBody },
    responses: { 201: { description: 'The feedback was recorded', schema: FeedbackResponse } },
  },
  async (ctx) => {
    const result = await recordFeedback(ctx.deps.db, ctx.state.principal!, ctx.state.input.body);
    ctx.status = 201;
    ctx.body = result;
  },
);

defineRoute(
  suggestionsRouter,
  {
    method: 'get',
    path: '/annotation/suggestions/history',
    tags: TAGS,
    summary: 'Suggestions of a project',
    description: 'Newest first, with the feedback each received; filters by item, engine and feedback.',
    request: { query: HistoryQuery },
    responses: { 200: { description: 'A page of suggestions', schema: pageOf(HistoryEntry) } },
  },
  async (ctx) => {
    const { query } = ctx.state.input;
    const { db } = ctx.deps;
    const project = await findProjectForPrincipal(db, ctx.state.principal!, query.project_id);
    const base = Suggestion.query(db).where({ tenant_id: project.tenant_id, project_id: project.id });
    if (query.item_id) base.andWhere('item_id', query.item_id);
    if (query.engine_id) base.andWhere('engine_id', query.engine_id);
    if (query.feedback === 'none') base.whereNull('feedback_action');
    else if (query.feedback) base.andWhere('feedback_action', query.feedback);
    const { rows, total } = await listModelPage(base, query, (q) =>
      q.select('*').orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }]),
    );
    ctx.body = paged(rows.map(presentHistoryEntry), query, total);
  },
);
