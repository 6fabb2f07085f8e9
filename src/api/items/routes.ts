import Router from '@koa/router';
import type { ApiContextExtras, ApiState } from '../deps';
import { unsupportedMediaType, validationFailed } from '../errors';
import { assertDeclaredLength, hasBody } from '../middleware/json-body';
import { recordAudit } from '../../data/audit';
import { Item } from '../../db/models';
import { listModelPage, pageOf, paged } from '../middleware/pagination';
import { defineRoute } from '../openapi';
import { ProjectParams } from '../projects/schema';
import { findProjectForPrincipal } from '../scope';
import { ImportOptions, importJson, importNdjson } from './import';
import { presentItem } from './presenter';
import { ImportItemsBody, ImportItemsResponse, ItemInput, ItemResponse, ListItemsQuery, MAX_ITEMS_PER_REQUEST } from './schema';
import { readFinalLabels } from '../../data/final-labels';

export const itemsRouter = new Router<ApiState, ApiContextExtras>();

const JSON_TYPE = 'application/json';
const NDJSON_TYPE = 'application/x-ndjson';

defineRoute(
  itemsRouter,
  {
    method: 'post',
    path: '/projects/:project_id/items',
    tags: ['items'],
    summary: 'Import items',
    description:
      `Up to ${MAX_ITEMS_PER_REQUEST} items per request (more is a 413), as \`{"items": [...]}\` JSON or as NDJSON ` +
      '(one item object per line, streamed). Everything is validated against the project’s label schema and written ' +
      'in one transaction: if any item is invalid, nothing is written (422; NDJSON names the field `line N`; an ' +
      'unparseable NDJSON line is a 400 MALFORMED_JSON). Items whose external_id already exists in the project, or ' +
      'repeats within the request, are skipped and counted as duplicates. Always 201, even when every item was a duplicate.',
    roles: ['manager'],
    request: { params: ProjectParams },
    rawBody: {
      description: 'JSON or NDJSON',
      content: { [JSON_TYPE]: ImportItemsBody, [NDJSON_TYPE]: ItemInput },
    },
    responses: { 201: { description: 'What was inserted', schema: ImportItemsResponse } },
  },
  async (ctx) => {
    const { db, config } = ctx.deps;
    const principal = ctx.state.principal!;
    const project = await findProjectForPrincipal(db, principal, ctx.state.input.params.project_id);
    if (!hasBody(ctx)) throw validationFailed([{ field: 'items', message: 'Required: send {"items": [...]} or NDJSON' }]);
    const type = ctx.is(JSON_TYPE, '+json', NDJSON_TYPE);
    if (!type) throw unsupportedMediaType([JSON_TYPE, NDJSON_TYPE]);
    assertDeclaredLength(ctx, config.BODY_LIMIT_BYTES);
    const format = type === NDJSON_TYPE ? 'ndjson' : 'json';
    const options: ImportOptions = {
      project,
      limit: config.BODY_LIMIT_BYTES,
      afterWrite: async (trx, r) => {
        await recordAudit(trx, {
          tenant_id: principal.tenantId,
          project_id: project.id,
          actor: principal.userId,
          action: 'items.imported',
          entity_type: 'project',
          entity_id: project.id,
          details: { format, inserted: r.inserted, duplicates: r.duplicates },
        });
      },
    };
    const result = format === 'ndjson' ? await importNdjson(ctx, db, options) : await importJson(ctx, db, options);
    ctx.status = 201;
    ctx.body = result;
  },
);

defineRoute(
  itemsRouter,
  {
    method: 'get',
    path: '/projects/:project_id/items',
    tags: ['items'],
    summary: 'List items',
    description: 'In import order, each with its final label and its provenance (`final_label`, null while nothing decided the item).',
    request: { params: ProjectParams, query: ListItemsQuery },
    responses: { 200: { description: 'A page of items', schema: pageOf(ItemResponse) } },
  },
  async (ctx) => {
    const { params, query } = ctx.state.input;
    const project = await findProjectForPrincipal(ctx.deps.db, ctx.state.principal!, params.project_id);
    const base = Item.query(ctx.deps.db).where({ project_id: project.id, tenant_id: project.tenant_id });
    if (query.external_id) base.where('external_id', query.external_id);
    if (query.id) base.where('id', query.id);
    const { rows, total } = await listModelPage(base, query, (q) =>
      q.select('id', 'project_id', 'external_id', 'data', 'gold_label', 'created_at').orderBy('seq'),
    );
    const finals = await readFinalLabels(ctx.deps.db, project.id, rows.map((r) => r.id));
    ctx.body = paged(rows.map((r) => presentItem(r, finals.get(r.id))), query, total);
  },
);
