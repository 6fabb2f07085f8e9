import fs from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ApiClient, ClientCommandError, query } from '../api-client';
import { parseClientArgs, required } from '../args';
import { UsageError } from '../../cli-args';
import { printResult, processTerminal, progressFor, type Terminal } from '../terminal';

export const EXPORT_USAGE = 'anno export --project P [--format jsonl|csv|label-studio] [--labels final|all] [--out FILE] [--url U] [--token T] [--json]';

const FORMATS = ['jsonl', 'csv', 'label-studio'];

export interface ExportSummary {
  project_id: string;
  format: string;
  labels: string;
  bytes: number;
  /** Items written: lines for jsonl, rows for csv (without the header), tasks for label-studio. */
  records: number;
  out: string | null;
  seconds: number;
}

/**
 * `anno export`: streams GET /projects/{id}/export to --out (or stdout), counting what passes;
 * the progress counter goes to stderr so stdout can carry the data.
 */
export async function runExport(args: string[], t?: Terminal): Promise<ExportSummary> {
  const { values, positionals, client: opts, json } = parseClientArgs('export', EXPORT_USAGE, args, {
    project: { type: 'string' },
    format: { type: 'string', default: 'jsonl' },
    labels: { type: 'string', default: 'final' },
    out: { type: 'string', short: 'o' },
  });
  if (positionals.length) throw new UsageError('export', `unexpected argument ${JSON.stringify(positionals[0])}`, EXPORT_USAGE);
  const term = t ?? processTerminal(json);
  const projectId = required('export', EXPORT_USAGE, values, 'project');
  const format = values.format as string;
  const labels = values.labels as string;
  if (!FORMATS.includes(format)) throw new UsageError('export', `--format is one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`, EXPORT_USAGE);
  if (labels !== 'final' && labels !== 'all') throw new UsageError('export', `--labels is final or all, got ${JSON.stringify(labels)}`, EXPORT_USAGE);
  const out = (values.out as string | undefined) ?? null;
  const api = new ApiClient(opts);
  const started = Date.now();
  const res = await api.send('GET', `/projects/${encodeURIComponent(projectId)}/export${query({ format, labels })}`);
  const progress = progressFor(term, { stdoutIsData: out === null });
  const expected = Number(res.headers.get('x-export-items'));
  const counter = new RecordCounter(format);
  let bytes = 0;
  const snapshot = (status: string) => {
    const seconds = (Date.now() - started) / 1000;
    const records = counter.records();
    return { label: 'export', done: records, total: Number.isFinite(expected) ? Math.max(expected, records) : null, rate: seconds > 0 ? records / seconds : null, status };
  };
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      counter.add(chunk);
      progress.update(snapshot('downloading'));
      done(null, chunk);
    },
  });
  const sink = out ? fs.createWriteStream(out) : process.stdout;
  try {
    await pipeline(Readable.fromWeb(res.body as unknown as WebReadableStream), count, sink, { end: out !== null });
  } catch (err) {
    progress.interrupt();
    throw new ClientCommandError(`anno export: the export stopped after ${counter.records()} items (${bytes} bytes): ${(err as Error).message}${out ? `; ${out} is incomplete` : ''}`);
  }
  progress.finish(snapshot('done'));
  const records = counter.records();
  const summary: ExportSummary = { project_id: projectId, format, labels, bytes, records, out, seconds: Number(((Date.now() - started) / 1000).toFixed(3)) };
  printResult(term, { ...summary }, `exported ${records} items of ${projectId} as ${format} (${bytes} bytes) to ${out ?? 'stdout'} in ${summary.seconds}s`, out ? 'stdout' : 'stderr');
  return summary;
}

/**
 * Counts the items of an export as it streams. jsonl: one a line. label-studio: one task a line,
 * each starting with `{` (JSON text holds no raw newline). csv: rows end in a line break outside
 * quotes (a quoted cell may hold line breaks; a doubled quote toggles twice), less the header.
 */
export class RecordCounter {
  private count = 0;
  private inQuotes = false;
  private last = -1;

  constructor(private readonly format: string) {}

  add(chunk: Buffer): void {
    for (const byte of chunk) {
      if (this.format === 'jsonl') {
        if (byte === 10) this.count += 1;
      } else if (this.format === 'csv') {
        if (byte === 34) this.inQuotes = !this.inQuotes;
        else if (byte === 10 && !this.inQuotes) this.count += 1;
      } else if (byte === 123 && this.last === 10) this.count += 1; // a task: `{` at the start of a line
      this.last = byte;
    }
  }

  records(): number {
    return this.format === 'csv' ? Math.max(0, this.count - 1) : this.count;
  }
}
