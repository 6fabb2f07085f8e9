import { useState } from 'preact/hooks';
import { describeFailure, postDecision } from '../lib/api';
import { short, valueText, when } from '../lib/format';
import { useInterval, useLiveState, useLoad, useProjectEvents } from '../lib/hooks';
import { itemsById, projectOf } from '../lib/items';
import type { Conflict, Item, Project } from '../lib/types';
import { allPages } from '../lib/api';
import { ErrorNote, PageTitle, ProjectPicker } from './common';

/** The expert's view: open conflicts, the disagreeing inputs side by side, resolved with a reason. */
export function ConflictsView({ projectId }: { projectId: string | undefined }) {
  const liveState = useLiveState();
  const data = useLoad(async () => {
    if (!projectId) return null;
    const [project, conflicts] = await Promise.all([projectOf(projectId), allPages<Conflict>(`/annotation/conflicts/${projectId}?status=open`, 200)]);
    const items = await itemsById(projectId, conflicts.map((c) => c.item_id));
    return { project, conflicts, items };
  }, [projectId]);
  useProjectEvents(projectId ? [projectId] : [], (e) => {
    if (e.event.startsWith('conflict.')) void data.reload();
  });
  useInterval(() => void data.reload(), 5000, liveState !== 'open' && !!projectId);

  return (
    <section aria-labelledby="conflicts-title">
      <PageTitle>
        <span id="conflicts-title">Open conflicts</span>
      </PageTitle>
      <ProjectPicker projectId={projectId} path="/conflicts" />
      <ErrorNote error={data.error} />
      {data.data && !data.data.conflicts.length && <p data-testid="no-conflicts">No open conflicts in this project.</p>}
      {data.data?.conflicts.map((c) => (
        <ConflictCard conflict={c} project={data.data!.project} item={data.data!.items.get(c.item_id)} onResolved={() => void data.reload()} key={c.conflict_id} />
      ))}
    </section>
  );
}

function ConflictCard({ conflict, project, item, onResolved }: { conflict: Conflict; project: Project; item: Item | undefined; onResolved: () => void }) {
  const [label, setLabel] = useState<string[]>([]);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const multi = project.label_schema.type === 'multi_label';
  const id = short(conflict.conflict_id);

  const resolve = async (e: Event) => {
    e.preventDefault();
    if (!label.length) return setError('Choose the final label.');
    setBusy(true);
    setError(null);
    try {
      await postDecision('/annotation/conflicts/resolve', {
        conflict_id: conflict.conflict_id,
        value: multi ? { labels: label } : { label: label[0] },
        ...(reason.trim() ? { reason: reason.trim() } : {}),
      });
      onResolved();
    } catch (err) {
      setError(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <article class="card conflict" aria-labelledby={`c-${id}`} data-testid="conflict" data-conflict-id={conflict.conflict_id}>
      <h2 id={`c-${id}`}>
        Conflict {id} <span class="muted">opened {when(conflict.created_at)}</span>
      </h2>
      <blockquote class="item-text">{item ? item.data.text : `Item ${conflict.item_id}`}</blockquote>
      <div class="inputs" role="list" aria-label="Disagreeing inputs">
        {conflict.inputs.map((input) => (
          <div class="input" role="listitem">
            <span class="who">{input.annotator_id}</span>
            <strong class="label-chip">{valueText(input.value)}</strong>
          </div>
        ))}
      </div>
      <form onSubmit={resolve}>
        <fieldset>
          <legend>Final label</legend>
          {project.label_schema.labels.map((l) => (
            <label class="check">
              <input
                type={multi ? 'checkbox' : 'radio'}
                name={`final-${id}`}
                value={l}
                checked={label.includes(l)}
                onChange={(e) => {
                  const on = (e.target as HTMLInputElement).checked;
                  setLabel((cur) => (multi ? (on ? [...cur, l] : cur.filter((x) => x !== l)) : [l]));
                }}
              />
              {l}
            </label>
          ))}
        </fieldset>
        <label for={`reason-${id}`}>Reason</label>
        <textarea id={`reason-${id}`} rows={2} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} placeholder="Why this label (kept in the audit log)" />
        <button type="submit" disabled={busy}>
          Resolve
        </button>
        <ErrorNote error={error} />
      </form>
    </article>
  );
}
