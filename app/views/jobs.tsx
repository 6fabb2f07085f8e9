import { useState } from 'preact/hooks';
import { allPages, api, describeFailure, post } from '../lib/api';
import { countdown, duration, short, when } from '../lib/format';
import { useInterval, useLiveState, useLoad, useNow, useProjectEvents, useThrottled } from '../lib/hooks';
import type { Job, JobProgress, Task, TeamProgress } from '../lib/types';
import { ErrorNote, PageTitle, ProjectPicker } from './common';

const ENDED = new Set(['completed', 'failed', 'cancelled']);
/** Open jobs whose live progress is read on each refresh (the newest ones). */
const LIVE_READS = 10;

/**
 * The operator's view of a project: every job with a progress bar moved by job.progress events
 * (polling while the socket is down), the pre-annotation controls, spend against the budget, the
 * Temporal UI link; then the team's tasks, updated by review events.
 */
export function JobsView({ projectId }: { projectId: string | undefined }) {
  const liveState = useLiveState();
  const jobs = useLoad(async () => {
    if (!projectId) return [];
    const list = (await api<{ items: Job[] }>(`/annotation/jobs?project_id=${projectId}&page_size=50`)).items;
    // The list holds the stored progress; a job's own read asks its workflow, so open jobs are read one by one.
    return Promise.all(list.map((j, i) => (ENDED.has(j.status) || i >= LIVE_READS ? j : api<Job>(`/annotation/jobs/${j.job_id}`).catch(() => j))));
  }, [projectId]);
  const [live, setLive] = useState<Map<string, Partial<JobProgress> & { status?: string }>>(new Map());
  const reread = useThrottled(() => void jobs.reload(), 700);
  const tasksPanel = useLoad(async () => {
    if (!projectId) return null;
    const [tasks, team] = await Promise.all([allPages<Task>(`/annotation/tasks?project_id=${projectId}`, 200), api<TeamProgress>(`/annotation/progress/${projectId}`)]);
    return { tasks, team };
  }, [projectId]);
  const rereadTasks = useThrottled(() => void tasksPanel.reload(), 500);

  useProjectEvents(projectId ? [projectId] : [], (e) => {
    const p = e.payload as Record<string, unknown>;
    if (e.event === 'job.progress' && typeof p.job_id === 'string') {
      // The event moves the bar at once; the throttled re-read brings spend, ETA and status.
      setLive((m) => new Map(m).set(p.job_id as string, p as Partial<JobProgress>));
      reread();
    } else if (e.event === 'job.completed') {
      reread();
      rereadTasks(); // AI coverage, and review tasks a finished job opened
    }
    else if (e.event.startsWith('review.') || e.event.startsWith('conflict.')) rereadTasks();
  });
  // While the socket is down: every 2 s while a job runs, else every 10 s (a job started elsewhere shows up).
  const anyRunning = (jobs.data ?? []).some((j) => !ENDED.has(j.status));
  useInterval(
    () => {
      void jobs.reload();
      void tasksPanel.reload();
    },
    anyRunning ? 2000 : 10_000,
    liveState !== 'open' && !!projectId,
  );

  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);
  const start = async () => {
    setStarting(true);
    setStartError(null);
    try {
      await post('/annotation/pre-annotate', { project_id: projectId });
      await jobs.reload();
    } catch (err) {
      setStartError(describeFailure(err));
    } finally {
      setStarting(false);
    }
  };

  return (
    <section aria-labelledby="jobs-title">
      <PageTitle>
        <span id="jobs-title">Jobs</span>
      </PageTitle>
      <div class="toolbar">
        <ProjectPicker projectId={projectId} path="/jobs" />
        <button type="button" onClick={start} disabled={!projectId || starting}>
          Pre-annotate new items
        </button>
      </div>
      <ErrorNote error={startError} />
      <ErrorNote error={jobs.error} />
      {jobs.data && !jobs.data.length && <p>No jobs in this project yet.</p>}
      <ul class="jobs">
        {jobs.data?.map((j) => (
          <JobRow job={j} live={live.get(j.job_id)} onChanged={() => void jobs.reload()} key={j.job_id} />
        ))}
      </ul>
      <TasksPanel data={tasksPanel.data ?? null} error={tasksPanel.error} />
    </section>
  );
}

function JobRow({ job, live, onChanged }: { job: Job; live?: Partial<JobProgress> & { status?: string }; onChanged: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // A live event newer than the last read wins (progress is monotonic, so the larger count is newer).
  const fresh = live && (live.processed ?? 0) > job.progress.processed ? { ...job.progress, ...live } : job.progress;
  const status = ENDED.has(job.status) ? job.status : (fresh.status ?? job.status);
  const total = fresh.total || 0;
  const percent = total ? Math.min(100, Math.round((fresh.processed / total) * 100)) : status === 'completed' ? 100 : 0;
  const isPre = job.type === 'pre_annotation';
  const act = async (action: 'pause' | 'resume' | 'cancel' | 'retry-failed') => {
    if (action === 'cancel' && !confirm('Cancel this job? Items already done keep their labels.')) return;
    setBusy(true);
    setError(null);
    try {
      await post(`/annotation/pre-annotate/${job.job_id}/${action}`);
      onChanged();
    } catch (err) {
      setError(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };
  const budget = job.progress.max_cost_usd;
  const spent = job.progress.spent_usd;
  const label = `${job.type} ${short(job.job_id)}`;
  return (
    <li class="job card" data-testid="job" data-job-id={job.job_id} data-status={status}>
      <div class="job-head">
        <strong>{label}</strong>
        <span class={`tag status-${status}`} data-testid="job-status">
          {status}
          {fresh.pause_reason ? ` (${fresh.pause_reason})` : ''}
        </span>
        <a href={job.links.temporal_ui} target="_blank" rel="noopener noreferrer">
          Temporal UI<span class="sr-only"> for {label}</span>
        </a>
      </div>
      <div class="bar" role="progressbar" aria-label={`Progress of ${label}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} data-testid="job-bar">
        <div class="fill" style={{ width: `${percent}%` }} />
      </div>
      <p class="job-figures" data-testid="job-figures">
        {fresh.processed} / {total} processed ({percent} %) · {fresh.succeeded} succeeded · {fresh.failed} failed · {fresh.auto_accepted} auto-accepted · {fresh.needs_review} to review
        {fresh.eta_seconds !== null && fresh.eta_seconds !== undefined && !ENDED.has(status) ? ` · ETA ${duration(fresh.eta_seconds * 1000)}` : ''}
      </p>
      <p class="job-cost" data-testid="job-cost">
        Cost ${spent}
        {budget ? ` of $${budget} budget` : ' (no budget)'}
        {budget && Number(budget) > 0 && (
          <meter min={0} max={Number(budget)} value={Number(spent)} high={Number(budget) * 0.9} aria-label="Spend against budget" />
        )}
        {' · started '}
        {when(job.created_at)}
      </p>
      {isPre && (
        <div class="actions">
          {status === 'running' && (
            <button type="button" onClick={() => act('pause')} disabled={busy}>
              Pause
            </button>
          )}
          {status === 'paused' && (
            <button type="button" onClick={() => act('resume')} disabled={busy}>
              Resume
            </button>
          )}
          {!ENDED.has(status) && (
            <button type="button" class="danger" onClick={() => act('cancel')} disabled={busy}>
              Cancel
            </button>
          )}
          {ENDED.has(status) && fresh.failed > 0 && (
            <button type="button" class="secondary" onClick={() => act('retry-failed')} disabled={busy}>
              Retry failed
            </button>
          )}
        </div>
      )}
      <ErrorNote error={error ?? job.error ?? fresh.error} />
    </li>
  );
}

function TasksPanel({ data, error }: { data: { tasks: Task[]; team: TeamProgress } | null; error: string | null }) {
  const now = useNow();
  if (error) return <ErrorNote error={error} />;
  if (!data) return null;
  const { tasks, team } = data;
  return (
    <section aria-labelledby="team-title" class="team">
      <h2 id="team-title">Team and tasks</h2>
      <p data-testid="team-figures">
        {team.annotated} of {team.items} items annotated by people ({team.percent_annotated.toFixed(0)} %) · {team.ai_annotated} by AI · {team.reviewed} reviewed · tasks: {team.tasks.open} open,{' '}
        {team.tasks.overdue} overdue, {team.tasks.completed} completed · conflicts: {team.conflicts.open} open
      </p>
      {!tasks.length && <p>No tasks in this project yet.</p>}
      <table class="tasks" data-testid="tasks-table" hidden={!tasks.length}>
        <caption class="sr-only">Tasks of this project</caption>
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Kind</th>
            <th scope="col">Assignee</th>
            <th scope="col">Status</th>
            <th scope="col">Items</th>
            <th scope="col">Due</th>
          </tr>
        </thead>
        <tbody>
          {tasks.map((t) => (
            <tr data-testid="task-row" data-task-id={t.task_id} data-status={t.status}>
              <td>
                <code>{short(t.task_id)}</code>
              </td>
              <td>{t.kind}</td>
              <td>{t.assignee_id ?? '—'}</td>
              <td>
                <span class={`tag status-${t.status}`}>{t.status}</span>
              </td>
              <td>{t.item_ids.length}</td>
              <td>{t.status === 'open' || t.status === 'escalated' ? countdown(t.due_at, now).text : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
