import { allPages } from '../lib/api';
import { countdown } from '../lib/format';
import { useApp, useInterval, useLiveState, useLoad, useNow, useProjectEvents } from '../lib/hooks';
import { listProjects } from '../lib/items';
import type { Task } from '../lib/types';
import { ErrorNote, PageTitle } from './common';

/** My open tasks, grouped as overdue, due soon and open; new and reassigned tasks arrive live. */
export function TaskListView() {
  const { session, navigate } = useApp();
  const now = useNow();
  const liveState = useLiveState();
  const me = encodeURIComponent(session.userId);
  const tasks = useLoad(async () => {
    const [open, escalated] = await Promise.all([
      allPages<Task>(`/annotation/tasks?assignee_id=${me}&status=open`, 500),
      allPages<Task>(`/annotation/tasks?assignee_id=${me}&status=escalated`, 500),
    ]);
    return [...open, ...escalated].sort((a, b) => (a.due_at ?? '9').localeCompare(b.due_at ?? '9'));
  }, [me]);
  // Every project this user may see: a task assigned in any of them shows up without a reload.
  const projects = useLoad(listProjects, []);
  useProjectEvents(projects.data?.map((p) => p.id) ?? [], (e) => {
    if (e.event === 'review.assigned' || e.event === 'review.completed') void tasks.reload();
  });
  useInterval(() => void tasks.reload(), 5000, liveState !== 'open');

  const list = tasks.data ?? [];
  const groups: [string, Task[]][] = [
    ['Overdue', list.filter((t) => countdown(t.due_at, now).overdue)],
    ['Due soon (within an hour)', list.filter((t) => countdown(t.due_at, now).soon)],
    ['Open', list.filter((t) => { const c = countdown(t.due_at, now); return !c.overdue && !c.soon; })],
  ];
  const names = new Map(projects.data?.map((p) => [p.id, p.name]));

  return (
    <section aria-labelledby="tasks-title">
      <PageTitle>
        <span id="tasks-title">My tasks</span>
      </PageTitle>
      <ErrorNote error={tasks.error} />
      {tasks.loading && !tasks.data && <p>Loading tasks…</p>}
      {tasks.data && !list.length && <p data-testid="no-tasks">No open tasks are assigned to you.</p>}
      {groups.map(([title, items]) =>
        items.length ? (
          <section class="group" aria-label={title}>
            <h2>
              {title} <span class="count">{items.length}</span>
            </h2>
            <ul class="task-list">
              {items.map((t) => {
                const c = countdown(t.due_at, now);
                return (
                  <li data-testid="task-row" data-task-id={t.task_id}>
                    <a
                      href={`/app${taskPath(t)}`}
                      onClick={(e) => {
                        e.preventDefault();
                        navigate(taskPath(t));
                      }}
                    >
                      {t.kind === 'review' ? 'Review' : 'Annotate'} {t.item_ids.length} item{t.item_ids.length === 1 ? '' : 's'}
                      {t.conflict_id ? ' (conflict)' : ''} · {names.get(t.project_id) ?? 'project'}
                    </a>
                    <span class={c.overdue ? 'due overdue' : c.soon ? 'due soon' : 'due'}>{c.text}</span>
                    {t.status === 'escalated' && <span class="tag">escalated</span>}
                  </li>
                );
              })}
            </ul>
          </section>
        ) : null,
      )}
    </section>
  );
}

/** An expert task of a conflict is worked in the conflicts view, every other task item by item. */
function taskPath(t: Task): string {
  return t.conflict_id ? `/conflicts?project=${t.project_id}` : `/tasks/${t.task_id}`;
}
