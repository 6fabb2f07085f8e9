import type { ComponentChildren } from 'preact';
import { useEffect } from 'preact/hooks';
import { useApp, useLiveState, useLoad } from '../lib/hooks';
import { listProjects } from '../lib/items';
import type { Project } from '../lib/types';

export function LiveBadge() {
  const state = useLiveState();
  const text = state === 'open' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline (polling)';
  return (
    <span class={`live live-${state}`} role="status" data-testid="live-state" data-state={state}>
      {text}
    </span>
  );
}

export function PageTitle({ children }: { children: ComponentChildren }) {
  return <h1 tabIndex={-1}>{children}</h1>;
}

export function ErrorNote({ error }: { error: string | null | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

/** The project a view works on, kept in the URL (?project=) so a link names it. */
export function ProjectPicker({ projectId, path }: { projectId: string | undefined; path: string }) {
  const { navigate } = useApp();
  const { data: projects, error } = useLoad<Project[]>(listProjects, []);
  useEffect(() => {
    if (!projectId && projects?.length) navigate(`${path}?project=${projects[0].id}`, { replace: true });
  }, [projectId, projects]);
  return (
    <div class="picker">
      <label for="project-picker">Project</label>
      <select id="project-picker" value={projectId ?? ''} onChange={(e) => navigate(`${path}?project=${(e.target as HTMLSelectElement).value}`)}>
        {!projects?.length && <option value="">{projects ? 'No projects' : 'Loading…'}</option>}
        {projects?.map((p) => (
          <option value={p.id}>{p.name}</option>
        ))}
      </select>
      <ErrorNote error={error} />
    </div>
  );
}
