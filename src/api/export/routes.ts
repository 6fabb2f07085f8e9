import { Readable } from 'node:stream';
import Router from '@koa/router';
import type { ApiContextExtras, ApiState } from '../deps';
import { exportPages, type ExportRecord } from '../../data/export-pages';
import { defineRoute } from '../openapi';
import { ProjectParams } from '../projects/schema';
import { findProjectForPrincipal } from '../scope';
import { csvCells, csvHeader, csvLine, presentExportLine, presentLabelStudioTask } from './presenter';
import { CsvExport, ExportJsonlLine, ExportQuery, LabelStudioExport, type ExportFormat } from './schema';

export const exportRouter = new Router<ApiState, ApiContextExtras>();

const CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  'label-studio': 'application/json; charset=utf-8',
};
const EXTENSIONS: Record<ExportFormat, string> = { jsonl: 'jsonl', csv: 'csv', 'label-studio': 'json' };

/** The body as text chunks, one per page of items: what the response stream pulls, page by page, as the client reads. */
async function* exportText(pages: AsyncGenerator<ExportRecord[]>, format: ExportFormat, all: boolean): AsyncGenerator<string> {
  if (format === 'csv') yield csvLine(csvHeader(all));
  if (format === 'label-studio') yield '[';
  let first = true;
  for await (const page of pages) {
    if (format === 'jsonl') yield page.map((r) => `${JSON.stringify(presentExportLine(r, all))}\n`).join('');
    else if (format === 'csv') yield page.map((r) => csvLine(csvCells(r, all))).join('');
    else {
      const tasks = page.map((r) => JSON.stringify(presentLabelStudioTask(r, all))).join(',\n');
      yield `${first ? '' : ','}\n${tasks}`;
      first = false;
    }
  }
  if (format === 'label-studio') yield '\n]\n';
}

defineRoute(
  exportRouter,
  {
    method: 'get',
    path: '/projects/:project_id/export',
    tags: ['items'],
    summary: 'Export items with their final labels',
    description:
      'Streams every item of the project in import order with its final label and provenance, read from the final labels ' +
      'as the decisions wrote them (what decided it: expert resolution, gold, automatic resolution, consensus method, AI engine ' +
      'and confidence; who; when; on which inputs). `format=jsonl` (application/x-ndjson): one ExportLine a line. ' +
      '`format=csv` (text/csv, RFC 4180, CRLF): a header row, then one item a row (`data`, `final_value` and `annotations` are JSON cells). ' +
      '`format=label-studio` (application/json): a JSON array of Label Studio tasks `{id, data, meta: {item_id, external_id}, ' +
      'predictions: [{model_version, score, result}], annotations: [{completed_by, ground_truth, result}]}` with a `choices` result ' +
      '(from_name `label`, to_name `text`); AI annotations are the predictions, the final label is the ground-truth annotation. ' +
      '`labels=all` adds every annotation (AI with engine and confidence, humans with annotator and status; Label Studio: the human ' +
      'annotations). The body is written page by page while it is read, in bounded memory whatever the number of items; ' +
      'the `X-Export-Items` header gives the number of items when the export starts.',
    request: { params: ProjectParams, query: ExportQuery },
    responses: {
      200: {
        description: 'The export, in the content type of its format (NDJSON: one ExportLine a line)',
        schema: ExportJsonlLine,
        contentType: 'application/x-ndjson',
        alternatives: { 'text/csv': CsvExport, 'application/json': LabelStudioExport },
      },
    },
  },
  async (ctx) => {
    const { params, query } = ctx.state.input;
    const project = await findProjectForPrincipal(ctx.deps.db, ctx.state.principal!, params.project_id);
    const format = query.format as ExportFormat;
    const all = query.labels === 'all';
    const pages = exportPages(ctx.deps.db, {
      tenantId: project.tenant_id,
      projectId: project.id,
      // Label Studio needs the AI annotations for its predictions.
      annotations: all || format === 'label-studio',
    });
    // The count when the export starts (items imported meanwhile may be in it too): clients draw a bar with it.
    const [{ count }] = await ctx.deps.db('items').where({ project_id: project.id, tenant_id: project.tenant_id }).count<{ count: string }[]>({ count: '*' });
    ctx.status = 200;
    ctx.type = CONTENT_TYPES[format];
    ctx.set('X-Export-Items', String(count));
    ctx.set('Content-Disposition', `attachment; filename="project-${project.id}.${EXTENSIONS[format]}"`);
    // A failure mid-way (the database gone) errors the stream after the 200: Koa then destroys the
    // response, so the client's read fails (test/integration/export-outage.test.ts).
    ctx.body = Readable.from(exportText(pages, format, all));
  },
);
