import { ApiClient, query } from '../api-client';
import { parseClientArgs, positiveInt } from '../args';
import { UsageError } from '../../cli-args';
import { printResult, processTerminal, progressFor, type Terminal } from '../terminal';
import { abortOnInterrupt, watchJob, type JobView } from '../watch';

export const JOBS_USAGE =
  'anno jobs list [--project P] [--type T] [--status S] [--page N] [--page-size N] | anno jobs watch|pause|resume|cancel JOB_ID [--interval MS]  (all: [--url U] [--token T] [--json])';

const ACTIONS = ['pause', 'resume', 'cancel'] as const;

/** Exit status of a watched job: 0 completed (or detached), 1 failed or cancelled. */
export function exitCodeOf(job: JobView | null): number {
  return job === null || job.progress.status === 'completed' ? 0 : 1;
}

/** Watches a job to its end, Ctrl-C detaching (the job goes on); prints the outcome. Returns the exit code. */
export async function watchAndReport(api: ApiClient, term: Terminal, jobId: string, intervalMs: number): Promise<number> {
  const interrupt = abortOnInterrupt();
  try {
    const job = await watchJob(api, jobId, progressFor(term), { intervalMs, signal: interrupt.signal });
    if (!job) {
      printResult(term, { job_id: jobId, detached: true }, `detached from job ${jobId}; it goes on (anno jobs watch ${jobId} to follow it again)`);
      return 0;
    }
    const p = job.progress;
    printResult(
      term,
      { job_id: job.job_id, status: p.status, total: p.total, processed: p.processed, succeeded: p.succeeded, failed: p.failed, auto_accepted: p.auto_accepted, needs_review: p.needs_review, spent_usd: p.spent_usd, temporal_ui: job.links.temporal_ui },
      `job ${job.job_id} ${p.status}: ${p.processed}/${p.total} processed, ${p.succeeded} succeeded, ${p.failed} failed, ${p.auto_accepted} auto-accepted, ${p.needs_review} to review, $${p.spent_usd}`,
    );
    return exitCodeOf(job);
  } finally {
    interrupt.dispose();
  }
}

/** `anno jobs list|watch|pause|resume|cancel`. Returns the exit code. */
export async function runJobs(args: string[], t?: Terminal): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals, client: opts, json } = parseClientArgs('jobs', JOBS_USAGE, rest, {
    project: { type: 'string' },
    type: { type: 'string' },
    status: { type: 'string' },
    page: { type: 'string' },
    'page-size': { type: 'string' },
    interval: { type: 'string' },
  });
  const term = t ?? processTerminal(json);
  const api = new ApiClient(opts);
  if (sub === 'list') {
    const page = positiveInt('jobs', JOBS_USAGE, values, 'page', 1);
    const pageSize = positiveInt('jobs', JOBS_USAGE, values, 'page-size', 50);
    const list = await api.json<{ items: JobView[]; page: number; page_size: number; total: number }>(
      'GET',
      `/annotation/jobs${query({ project_id: values.project as string, type: values.type as string, status: values.status as string, page, page_size: pageSize })}`,
    );
    if (term.json) term.stdout.write(`${JSON.stringify(list)}\n`);
    else {
      for (const j of list.items) {
        const p = j.progress;
        term.stdout.write(`${j.job_id}  ${j.type}  ${p.status}  ${p.processed}/${p.total}  $${p.spent_usd}  ${j.created_at ?? ''}\n`);
      }
      term.stderr.write(`${list.items.length} of ${list.total} jobs (page ${list.page})\n`);
    }
    return 0;
  }
  const jobId = positionals[0];
  if (!sub || !['watch', ...ACTIONS].includes(sub)) throw new UsageError('jobs', `unknown subcommand ${JSON.stringify(sub ?? '')}`, JOBS_USAGE);
  if (!jobId || positionals.length !== 1) throw new UsageError('jobs', `${sub} takes one job id`, JOBS_USAGE);
  if (sub === 'watch') return watchAndReport(api, term, jobId, positiveInt('jobs', JOBS_USAGE, values, 'interval', 1000));
  // Pause, resume and cancel are pre-annotation's actions (another kind of job is a 404 there).
  const answer = await api.json<{ job_id: string; action: string; status: string }>('POST', `/annotation/pre-annotate/${encodeURIComponent(jobId)}/${sub}`, {});
  printResult(term, answer, `job ${answer.job_id}: ${answer.action} accepted (status ${answer.status})`);
  return 0;
}
