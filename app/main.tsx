import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { useToken } from './lib/api';
import { App } from './lib/hooks';
import { LiveConnection } from './lib/live';
import { clearSession, hasRole, loadSession, type Session } from './lib/session';
import { ConflictsView } from './views/conflicts';
import { JobsView } from './views/jobs';
import { QualityView } from './views/quality';
import { SignIn } from './views/sign-in';
import { TaskListView } from './views/task-list';
import { TaskWorkView } from './views/task-work';
import { LiveBadge } from './views/common';

const BASE = '/app';

function currentRoute(): { path: string; query: URLSearchParams } {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || '/' : '/';
  return { path, query: new URLSearchParams(location.search) };
}

function Root() {
  const [session, setSession] = useState<Session | null>(loadSession);
  const [route, setRoute] = useState(currentRoute);
  useEffect(() => {
    const onPop = () => setRoute(currentRoute());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const navigate = (to: string, opts: { replace?: boolean } = {}) => {
    if (opts.replace) history.replaceState(null, '', `${BASE}${to}`);
    else history.pushState(null, '', `${BASE}${to}`);
    setRoute(currentRoute());
    // Focus moves to the new page's heading, so keyboard and screen-reader users land on it.
    queueMicrotask(() => document.querySelector<HTMLElement>('main h1')?.focus());
  };
  const signOut = () => {
    clearSession();
    setSession(null);
  };
  useToken(session?.token ?? null, signOut);

  const live = useMemo(() => (session ? new LiveConnection(session.token) : null), [session?.token]);
  useEffect(() => () => live?.close(), [live]);

  if (!session || !live) return <SignIn onSignedIn={(s) => setSession(s)} />;

  const home = hasRole(session, 'manager') ? '/jobs' : '/tasks';
  const path = route.path === '/' ? home : route.path;
  const project = route.query.get('project') ?? undefined;
  const taskMatch = /^\/tasks\/([0-9a-f-]{36})$/.exec(path);
  let page;
  if (taskMatch) page = <TaskWorkView taskId={taskMatch[1]} key={taskMatch[1]} />;
  else if (path === '/tasks') page = <TaskListView />;
  else if (path === '/conflicts') page = <ConflictsView projectId={project} />;
  else if (path === '/jobs') page = <JobsView projectId={project} />;
  else if (path === '/quality') page = <QualityView projectId={project} />;
  else page = <p role="alert">No page at {location.pathname}.</p>;

  const links: [string, string][] = [
    ['/tasks', 'My tasks'],
    ['/conflicts', 'Conflicts'],
    ['/jobs', 'Jobs'],
    ['/quality', 'Quality'],
  ];
  const withProject = (to: string) => (project && to !== '/tasks' ? `${to}?project=${project}` : to);
  return (
    <App.Provider value={{ session, live, navigate }}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <span class="brand">Annotation Orchestrator</span>
        <nav aria-label="Views">
          {links.map(([to, label]) => (
            <a
              href={`${BASE}${withProject(to)}`}
              aria-current={path.startsWith(to) ? 'page' : undefined}
              onClick={(e) => {
                e.preventDefault();
                navigate(withProject(to));
              }}
            >
              {label}
            </a>
          ))}
        </nav>
        <LiveBadge />
        <span class="who" data-testid="who">
          {session.userId} · {session.tenantId} · {session.roles.join(', ')}
        </span>
        <button type="button" class="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main">{page}</main>
    </App.Provider>
  );
}

const root = document.getElementById('root')!;
root.textContent = ''; // the boot message: preact renders next to children it did not make
render(<Root />, root);
