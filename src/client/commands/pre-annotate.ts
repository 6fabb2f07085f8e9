import { ApiClient } from '../api-client';
import { parseClientArgs, positiveInt, required } from '../args';
import { UsageError } from '../../cli-args';
import { printResult, processTerminal, type Terminal } from '../terminal';
import { watchAndReport } from './jobs';

export const PRE_ANNOTATE_USAGE =
  'anno pre-annotate --project P [--engine E] [--mode sync|batch] [--batch-size N] [--concurrency N] [--max-cost USD] [--watch [--interval MS]] [--url U] [--token T] [--json]';

/**
 * `anno pre-annotate`: starts the job (202) and prints its id and links; with --watch, follows
 * its progress to the end (Ctrl-C detaches; the job goes on). Returns the exit code.
 */
export async function runPreAnnotate(args: string[], t?: Terminal): Promise<number> {
  const { values, client: opts, json, positionals } = parseClientArgs('pre-annotate', PRE_ANNOTATE_USAGE, args, {
    project: { type: 'string' },
    engine: { type: 'string' },
    mode: { type: 'string' },
    'batch-size': { type: 'string' },
    concurrency: { type: 'string' },
    'max-cost': { type: 'string' },
    watch: { type: 'boolean', default: false },
    interval: { type: 'string' },
  });
  if (positionals.length) throw new UsageError('pre-annotate', `unexpected argument ${JSON.stringify(positionals[0])}`, PRE_ANNOTATE_USAGE);
  const term = t ?? processTerminal(json);
  const mode = values.mode as string | undefined;
  if (mode !== undefined && mode !== 'sync' && mode !== 'batch') throw new UsageError('pre-annotate', `--mode is sync or batch, got ${JSON.stringify(mode)}`, PRE_ANNOTATE_USAGE);
  const body = {
    project_id: required('pre-annotate', PRE_ANNOTATE_USAGE, values, 'project'),
    ...(values.engine ? { engine_id: values.engine } : {}),
    ...(mode ? { mode } : {}),
    ...(values['batch-size'] ? { batch_size: positiveInt('pre-annotate', PRE_ANNOTATE_USAGE, values, 'batch-size', 1) } : {}),
    ...(values.concurrency ? { concurrency: positiveInt('pre-annotate', PRE_ANNOTATE_USAGE, values, 'concurrency', 1) } : {}),
    ...(values['max-cost'] ? { max_cost_usd: values['max-cost'] } : {}),
  };
  const api = new ApiClient(opts);
  const started = await api.json<{ job_id: string; workflow_id: string; status: string; total: number | null; links: Record<string, string> }>(
    'POST',
    '/annotation/pre-annotate',
    body,
  );
  printResult(
    term,
    { ...started, type: 'started' },
    `started pre-annotation job ${started.job_id} (${started.total ?? '?'} items); Temporal UI: ${started.links.temporal_ui}`,
    values.watch && !term.json ? 'stderr' : 'stdout',
  );
  if (!values.watch) return 0;
  return watchAndReport(api, term, started.job_id, positiveInt('pre-annotate', PRE_ANNOTATE_USAGE, values, 'interval', 1000));
}
