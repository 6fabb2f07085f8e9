import fs from 'node:fs';
import readline from 'node:readline';
import { ApiClient, ApiRequestError, ClientCommandError } from '../api-client';
import { parseClientArgs, positiveInt, required } from '../args';
import { UsageError } from '../../cli-args';
import { printResult, processTerminal, progressFor, type Terminal } from '../terminal';
import { itemFromLabelStudioTask, type LabelStudioTask } from '../label-studio';

export const IMPORT_USAGE = 'anno import --project P [--format ndjson|label-studio] [--batch-size 10000] [--url U] [--token T] [--json] FILE|-';

/** The API takes at most this many items a request (POST /projects/{id}/items). */
const MAX_BATCH = 100_000;

export interface ImportSummary {
  project_id: string;
  items: number;
  inserted: number;
  duplicates: number;
  requests: number;
  seconds: number;
  items_per_second: number;
}

/**
 * `anno import`: reads the NDJSON file line by line (or a Label Studio task array, converted by
 * `itemFromLabelStudioTask`) and sends it to the item import in requests of
 * `--batch-size` items (each one transaction on the server), so memory holds one batch whatever
 * the file's size. The bar follows the bytes read. Items already imported (same external_id) count
 * as duplicates, so running it again after a failure finishes the job.
 */
export async function runImport(args: string[], t?: Terminal): Promise<ImportSummary> {
  const { values, positionals, client: opts, json } = parseClientArgs('import', IMPORT_USAGE, args, {
    project: { type: 'string' },
    'batch-size': { type: 'string' },
    format: { type: 'string', default: 'ndjson' },
  });
  const term = t ?? processTerminal(json);
  const projectId = required('import', IMPORT_USAGE, values, 'project');
  const batchSize = positiveInt('import', IMPORT_USAGE, values, 'batch-size', 10_000);
  if (batchSize > MAX_BATCH) throw new UsageError('import', `--batch-size is at most ${MAX_BATCH} (the API's limit per request)`, IMPORT_USAGE);
  if (positionals.length !== 1) throw new UsageError('import', 'name one NDJSON file (or - for stdin)', IMPORT_USAGE);
  const format = values.format as string;
  if (format !== 'ndjson' && format !== 'label-studio') throw new UsageError('import', `--format is ndjson or label-studio, got ${JSON.stringify(format)}`, IMPORT_USAGE);
  const file = positionals[0];
  const input = file === '-' ? process.stdin : fs.createReadStream(file);
  let source: { lines: AsyncIterable<string>; totalBytes: number | null; totalItems: number | null };
  if (format === 'ndjson') {
    source = { lines: readline.createInterface({ input, crlfDelay: Infinity }), totalBytes: file === '-' ? null : fs.statSync(file).size, totalItems: null };
  } else {
    // A Label Studio export is one JSON array: read whole, then sent as NDJSON items in batches.
    const chunks: Buffer[] = [];
    for await (const chunk of input) chunks.push(chunk as Buffer);
    let tasks: unknown;
    try {
      tasks = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (err) {
      throw new UsageError('import', `${file} is not JSON: ${(err as Error).message}`, IMPORT_USAGE);
    }
    if (!Array.isArray(tasks)) throw new UsageError('import', `${file} is not a Label Studio task array`, IMPORT_USAGE);
    const lines = tasks.map((task, i) => {
      try {
        return JSON.stringify(itemFromLabelStudioTask(task as LabelStudioTask, i));
      } catch (err) {
        throw new UsageError('import', `${file}: ${(err as Error).message}`, IMPORT_USAGE);
      }
    });
    source = { lines: (async function* () { yield* lines; })(), totalBytes: null, totalItems: lines.length };
  }
  const { totalBytes, totalItems } = source;
  const api = new ApiClient(opts);
  const progress = progressFor(term);
  const started = Date.now();
  const summary = { project_id: projectId, items: 0, inserted: 0, duplicates: 0, requests: 0 };
  let bytesSent = 0;
  const snapshot = (status: string) => {
    const seconds = (Date.now() - started) / 1000;
    // The bar follows the bytes sent of the file's size (a pipe has no size: a count only), or the tasks sent.
    const fraction = totalBytes ? Math.min(1, bytesSent / totalBytes) : totalItems ? summary.items / totalItems : undefined;
    return {
      label: 'import',
      done: summary.items,
      total: null,
      fraction: status === 'done' && fraction !== undefined ? 1 : fraction,
      rate: seconds > 0 ? summary.items / seconds : null,
      etaSeconds: fraction && fraction < 1 && status !== 'done' ? (seconds * (1 - fraction)) / fraction : null,
      status,
      counts: { inserted: summary.inserted, duplicates: summary.duplicates },
    };
  };

  let batch: string[] = [];
  let firstLine = 1;
  let lineNo = 0;
  const send = async () => {
    if (!batch.length) return;
    const body = `${batch.join('\n')}\n`;
    const lines = batch.length;
    const bytes = Buffer.byteLength(body);
    batch = [];
    const res = await api
      .send('POST', `/projects/${encodeURIComponent(projectId)}/items`, { body, contentType: 'application/x-ndjson' })
      .catch((err: unknown) => {
        if (err instanceof ApiRequestError) throw new ImportFailed(err, firstLine, firstLine + lines - 1, summary);
        throw err;
      });
    const r = (await res.json()) as { inserted: number; duplicates: number };
    summary.inserted += r.inserted;
    summary.duplicates += r.duplicates;
    summary.items += lines;
    summary.requests += 1;
    firstLine += lines;
    bytesSent += bytes;
    progress.update(snapshot('importing'));
  };
  for await (const line of source.lines) {
    lineNo += 1;
    if (!line.trim()) {
      if (!batch.length) firstLine = lineNo + 1;
      continue;
    }
    batch.push(line);
    if (batch.length >= batchSize) await send();
  }
  await send();
  const seconds = (Date.now() - started) / 1000;
  progress.finish(snapshot('done'));
  const result: ImportSummary = { ...summary, seconds: Number(seconds.toFixed(3)), items_per_second: Math.round(summary.items / Math.max(seconds, 0.001)) };
  printResult(
    term,
    { ...result },
    `imported ${result.items} items into ${projectId}: ${result.inserted} inserted, ${result.duplicates} duplicates (${result.requests} requests, ${result.seconds}s, ${result.items_per_second} items/s)`,
  );
  return result;
}

/** A batch the API refused: where in the file, and what was written before it. */
export class ImportFailed extends ClientCommandError {
  constructor(
    readonly apiError: ApiRequestError,
    fromLine: number,
    toLine: number,
    done: { inserted: number; duplicates: number },
  ) {
    super(
      `anno import: lines ${fromLine}-${toLine} refused: ${apiError.describe()}` +
        (apiError.details.some((d) => d.field?.startsWith('line ')) ? ' (line numbers are within this batch)' : '') +
        `; before it ${done.inserted} inserted, ${done.duplicates} duplicates (run again to continue: duplicates are skipped)`,
    );
  }
}
