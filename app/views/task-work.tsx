import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure, api, describeFailure, post, postDecision } from '../lib/api';
import { countdown, pct, sameValue, valueText } from '../lib/format';
import { useApp, useLoad, useNow, useProjectEvents } from '../lib/hooks';
import { itemsById, projectOf } from '../lib/items';
import type { AnnotationValue, Decision, Suggestion, Task } from '../lib/types';
import { ErrorNote, PageTitle } from './common';
import { ItemHistory } from './item-history';

interface Presence {
  user_id: string;
  connection_id: string;
  item_id?: string;
  state: string;
  action?: string;
}

type Outcome = 'approve' | 'reject' | 'modify';

/**
 * One task, one item at a time: the text, the AI suggestion (live from the switcher, with its
 * confidence and engine), and the decision — keys 1–9 pick labels, Enter submits (approve when the
 * pick is the suggestion, else modify), A approves, R rejects, ←/→ move. Who else views the item
 * comes from presence; a reassigned or cancelled task leaves the screen as the event arrives.
 */
export function TaskWorkView({ taskId }: { taskId: string }) {
  const { session, live, navigate } = useApp();
  const now = useNow();
  const loaded = useLoad(async () => {
    const task = await api<Task>(`/annotation/tasks/${taskId}`);
    const [project, items] = await Promise.all([projectOf(task.project_id), itemsById(task.project_id, task.item_ids)]);
    return { task, project, items };
  }, [taskId]);
  const [index, setIndex] = useState(0);
  const [decided, setDecided] = useState<Map<string, Outcome>>(new Map());
  const [suggestions, setSuggestions] = useState<Map<string, Suggestion | string>>(new Map());
  const [picked, setPickedState] = useState<Map<string, AnnotationValue>>(new Map());
  // The picks as of the last key press, not the last render: the key handler is re-registered by
  // an effect, after paint, so a quick "3 then Enter" may meet the handler of the render before
  // the pick. decide() reads this, never a render's `picked`.
  const pickedNow = useRef(picked);
  const setPicked = (update: (m: Map<string, AnnotationValue>) => Map<string, AnnotationValue>) => {
    pickedNow.current = update(pickedNow.current);
    setPickedState(pickedNow.current);
  };
  const [presence, setPresence] = useState<Map<string, Presence>>(new Map());
  const [gone, setGone] = useState<string | null>(null);
  /** A decision of this page is being sent (a ref: the event handler must see it at once). */
  const deciding = useRef(false);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const shownAt = useRef(Date.now());

  const task = loaded.data?.task;
  const project = loaded.data?.project;
  const itemIds = task?.item_ids ?? [];
  const itemId = itemIds[index];
  const item = itemId ? loaded.data?.items.get(itemId) : undefined;
  const suggestion = itemId ? suggestions.get(itemId) : undefined;
  const done = itemIds.length > 0 && itemIds.every((id) => decided.has(id));
  const closed = task && task.status !== 'open' && task.status !== 'escalated';

  // The AI suggestion for the item on screen (once per item; the switcher caches repeats).
  useEffect(() => {
    if (!task || !itemId || suggestions.has(itemId)) return;
    post<Suggestion>('/annotation/suggestion', { project_id: task.project_id, item_id: itemId }).then(
      (s) => {
        setSuggestions((m) => new Map(m).set(itemId, s));
        setPicked((m) => (m.has(itemId) ? m : new Map(m).set(itemId, s.value)));
      },
      (err) => setSuggestions((m) => new Map(m).set(itemId, describeFailure(err))),
    );
  }, [task?.task_id, itemId]);

  // Presence: this user views this item; others' presence arrives as presence.update events.
  useEffect(() => {
    if (!task || !itemId || gone) return;
    shownAt.current = Date.now();
    live.presence(task.project_id, itemId, 'viewing');
    return () => live.presence(task.project_id, undefined, 'idle');
  }, [task?.project_id, itemId, gone]);

  useProjectEvents(task ? [task.project_id] : [], (e) => {
    const p = e.payload as Record<string, unknown>;
    if (e.event === 'presence.update') {
      const pres = p as unknown as Presence;
      setPresence((m) => {
        const next = new Map(m);
        if (pres.action === 'leave' || pres.state === 'left') next.delete(pres.connection_id);
        else next.set(pres.connection_id, pres);
        return next;
      });
      return;
    }
    if (p.task_id !== taskId) return;
    if (e.event === 'review.assigned' && p.assignee_id !== session.userId && task?.assignee_id === session.userId) {
      setGone(`This task was reassigned to ${String(p.assignee_id ?? 'someone else')}${p.reason ? ` (${String(p.reason)})` : ''}.`);
    } else if (e.event === 'review.completed' && p.status === 'cancelled') {
      setGone('This task was cancelled.');
    } else if (e.event === 'review.completed' && !done && !deciding.current) {
      // (While this page's own decision is in flight, its answer says what happened, not this event.)
      setGone(`This task was ${String(p.status)} elsewhere.`);
    }
  });

  // A task that left the screen goes back to the list after a moment to read why.
  useEffect(() => {
    if (!gone) return;
    const t = setTimeout(() => navigate('/tasks'), 4000);
    return () => clearTimeout(t);
  }, [gone]);

  const move = (delta: number) => setIndex((i) => Math.max(0, Math.min(itemIds.length - 1, i + delta)));

  const choose = (label: string) => {
    if (!project || !itemId) return;
    setPicked((m) => {
      const cur = m.get(itemId);
      if (project.label_schema.type === 'single_label') return new Map(m).set(itemId, { label });
      const labels = cur && 'labels' in cur ? cur.labels : [];
      return new Map(m).set(itemId, { labels: labels.includes(label) ? labels.filter((l) => l !== label) : [...labels, label] });
    });
  };

  const decide = async (outcome: Outcome | 'submit') => {
    if (!task || !itemId || deciding.current || decided.has(itemId) || gone) return;
    const ai = typeof suggestion === 'object' ? suggestion : undefined;
    const value = pickedNow.current.get(itemId);
    const decision: Outcome = outcome === 'submit' ? (ai && sameValue(value, ai.value) ? 'approve' : 'modify') : outcome;
    if (decision === 'modify' && (!value || ('labels' in value && !value.labels.length))) {
      setError('Pick a label first (keys 1–9).');
      return;
    }
    if (decision === 'reject' && task.kind === 'annotate') return;
    if (decision === 'approve' && !ai) {
      setError('There is no AI suggestion to approve: pick a label and press Enter.');
      return;
    }
    setBusy(true);
    deciding.current = true;
    setError(null);
    try {
      // Approve sends the suggestion shown, so the recorded label is the one the reviewer saw.
      const body = {
        decision,
        item_ids: [itemId],
        lead_time_ms: Date.now() - shownAt.current,
        ...(decision === 'approve' ? { value: ai!.value } : decision === 'modify' ? { value } : {}),
      };
      // An annotate task takes labels through /submit (the workflow records a `submit`); a review task decides.
      const waiting = () => setStatus('Still recording the decision…');
      const verdict =
        task.kind === 'annotate'
          ? ((await postDecision<{ verdict: Decision | null }>('/annotation/submit', { item_id: itemId, task_id: task.task_id, value: body.value ?? value, lead_time_ms: body.lead_time_ms }, waiting)).verdict ?? {
              remaining: 0,
            })
          : await postDecision<Decision>(`/annotation/tasks/${task.task_id}/decision`, body, waiting);
      setDecided((m) => new Map(m).set(itemId, decision));
      setStatus(`${decisionWord(decision)}: item ${index + 1} of ${itemIds.length}. ${verdict.remaining} left.`);
      // The learning loop: the switcher learns from what happened to its suggestion.
      if (ai) {
        const action = decision === 'approve' ? 'accept' : decision;
        void post('/annotation/feedback', { suggestion_id: ai.suggestion_id, action, ...(decision === 'modify' ? { corrected_value: value } : {}) }).catch(() => undefined);
      }
      const next = itemIds.findIndex((id, i) => i > index && !decided.has(id));
      if (next >= 0) setIndex(next);
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 409) void loaded.reload();
      setError(describeFailure(err));
    } finally {
      deciding.current = false;
      setBusy(false);
    }
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (target.closest('input, textarea, select') || e.altKey || e.ctrlKey || e.metaKey) return;
      const labels = project?.label_schema.labels ?? [];
      if (/^[1-9]$/.test(e.key) && labels[Number(e.key) - 1]) {
        e.preventDefault();
        choose(labels[Number(e.key) - 1]);
      } else if (e.key === 'Enter' && !target.closest('button, a')) {
        e.preventDefault();
        void decide('submit');
      } else if (e.key === 'a' || e.key === 'A') void decide('approve');
      else if (e.key === 'r' || e.key === 'R') void decide('reject');
      else if (e.key === 'ArrowRight') move(1);
      else if (e.key === 'ArrowLeft') move(-1);
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });

  if (loaded.error) return <ErrorNote error={loaded.error} />;
  if (!task || !project) return <p>Loading the task…</p>;
  const due = countdown(task.due_at, now);
  const others = [...presence.values()].filter((p) => p.item_id === itemId && p.user_id !== session.userId && p.state !== 'idle');
  const value = itemId ? picked.get(itemId) : undefined;

  return (
    <section class="work" aria-labelledby="work-title">
      <PageTitle>
        <span id="work-title">
          {task.kind === 'review' ? 'Review' : 'Annotate'} · {project.name}
        </span>
      </PageTitle>
      {gone && (
        <div class="banner gone" role="alert" data-testid="task-gone">
          {gone} Returning to your tasks…
        </div>
      )}
      {(done || closed) && !gone && (
        <div class="banner ok" role="status" data-testid="task-done">
          {done ? 'Task complete: every item is decided.' : `This task is ${task.status}.`}{' '}
          <button type="button" onClick={() => navigate('/tasks')} autoFocus>
            Back to my tasks
          </button>
        </div>
      )}
      <div class="work-head">
        <span>
          Item <strong data-testid="item-position">{index + 1}</strong> of {itemIds.length}
        </span>
        <span role="timer" aria-label="Due" class={due.overdue ? 'due overdue' : due.soon ? 'due soon' : 'due'} data-testid="due">
          {due.text}
        </span>
        <span class="presence" data-testid="presence" aria-live="polite">
          {others.length ? `Also viewing: ${[...new Set(others.map((o) => o.user_id))].join(', ')}` : 'Nobody else is viewing this item'}
        </span>
      </div>
      <article class="item-text" aria-label="Item text" data-testid="item-text">
        {item ? item.data.text : 'Loading the item…'}
      </article>
      <section class="suggestion" aria-label="AI suggestion" data-testid="suggestion">
        <h2>AI suggestion</h2>
        {suggestion === undefined && <p>Asking the engine…</p>}
        {typeof suggestion === 'string' && <p class="error">No suggestion: {suggestion}</p>}
        {typeof suggestion === 'object' && (
          <p>
            <strong class="label-chip">{valueText(suggestion.value)}</strong> confidence <strong>{pct(suggestion.confidence)}</strong> · engine{' '}
            <code>{suggestion.engine_id}</code>
            {suggestion.cached ? ' · cached' : ''}
          </p>
        )}
      </section>
      <fieldset class="labels" disabled={!!gone || (itemId ? decided.has(itemId) : true)}>
        <legend>Label{project.label_schema.type === 'multi_label' ? 's' : ''} (keys 1–9)</legend>
        {project.label_schema.labels.map((label, i) => {
          const on = value ? ('label' in value ? value.label === label : value.labels.includes(label)) : false;
          return (
            <button type="button" class={on ? 'label on' : 'label'} aria-pressed={on} onClick={() => choose(label)} data-testid={`label-${label}`}>
              <kbd>{i < 9 ? i + 1 : ''}</kbd> {label}
            </button>
          );
        })}
      </fieldset>
      <div class="actions">
        <button type="button" onClick={() => decide('submit')} disabled={busy || !!gone || (itemId ? decided.has(itemId) : true)}>
          Submit <kbd>Enter</kbd>
        </button>
        <button type="button" class="secondary" onClick={() => decide('approve')} disabled={busy || !!gone || typeof suggestion !== 'object'}>
          Approve AI <kbd>A</kbd>
        </button>
        {task.kind !== 'annotate' && (
          <button type="button" class="danger" onClick={() => decide('reject')} disabled={busy || !!gone}>
            Reject <kbd>R</kbd>
          </button>
        )}
        <button type="button" class="secondary" onClick={() => move(-1)} disabled={index === 0} aria-label="Previous item">
          ← Prev
        </button>
        <button type="button" class="secondary" onClick={() => move(1)} disabled={index >= itemIds.length - 1} aria-label="Next item">
          Next →
        </button>
      </div>
      {itemId && decided.has(itemId) && <p class="decided">Decided: {decisionWord(decided.get(itemId)!)}.</p>}
      <ErrorNote error={error} />
      <p class="status" role="status" data-testid="work-status">
        {status}
      </p>
      <ItemStrip ids={itemIds} index={index} decided={decided} onPick={setIndex} />
      {itemId && <ItemHistory projectId={task.project_id} itemId={itemId} version={decided.size} />}
    </section>
  );
}

function decisionWord(d: Outcome): string {
  return d === 'approve' ? 'Approved' : d === 'modify' ? 'Modified' : 'Rejected';
}

function ItemStrip({ ids, index, decided, onPick }: { ids: string[]; index: number; decided: Map<string, Outcome>; onPick: (i: number) => void }) {
  if (ids.length < 2) return null;
  return (
    <nav class="strip" aria-label="Items of this task">
      {ids.map((id, i) => (
        <button type="button" class={`${i === index ? 'cur' : ''} ${decided.has(id) ? 'done' : ''}`} aria-current={i === index ? 'true' : undefined} onClick={() => onPick(i)}>
          {i + 1}
          <span class="sr-only">{decided.has(id) ? ` (${decisionWord(decided.get(id)!)})` : ' (open)'}</span>
        </button>
      ))}
    </nav>
  );
}

