import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { describeFailure } from './api';
import type { LiveConnection, LiveState } from './live';
import type { Session } from './session';
import type { LiveEvent } from './types';

export interface AppContext {
  session: Session;
  live: LiveConnection;
  navigate: (path: string, opts?: { replace?: boolean }) => void;
}

export const App = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(App);
  if (!ctx) throw new Error('useApp outside the signed-in app');
  return ctx;
}

/** An API read: its data, error and a reload; `deps` change → read again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: string | null; loading: boolean; reload: () => Promise<void> } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const generation = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const value = await load();
      if (mine === generation.current) {
        setData(value);
        setError(null);
      }
    } catch (err) {
      if (mine === generation.current) setError(describeFailure(err));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    setLoading(true);
    void reload();
  }, [reload]);
  return { data, error, loading, reload };
}

/** Every event of these projects while the component is mounted. */
export function useProjectEvents(projectIds: string[], handler: (e: LiveEvent) => void): void {
  const { live } = useApp();
  const ref = useRef(handler);
  ref.current = handler;
  const key = [...new Set(projectIds)].sort().join(',');
  useEffect(() => {
    if (!key) return;
    const offs = key.split(',').map((id) => live.subscribe(id, (e) => ref.current(e)));
    return () => offs.forEach((off) => off());
  }, [key, live]);
}

export function useLiveState(): LiveState {
  const { live } = useApp();
  const [state, setState] = useState<LiveState>(live.state);
  useEffect(() => {
    const off = live.onState(setState);
    setState(live.state); // it may have changed between the render and this effect
    return off;
  }, [live]);
  return state;
}

/** Calls `fn` every `ms` while `active` (the polling fallback when the socket is down). */
export function useInterval(fn: () => void, ms: number, active = true): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => ref.current(), ms);
    return () => clearInterval(t);
  }, [ms, active]);
}

/** The current time, ticking every `ms` (countdowns). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useInterval(() => setNow(Date.now()), ms);
  return now;
}

/** Calls `fn` at most once per `ms`, trailing (a burst of progress events → one re-read). */
export function useThrottled(fn: () => void, ms: number): () => void {
  const ref = useRef(fn);
  ref.current = fn;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(timer.current), []);
  return useCallback(() => {
    if (timer.current) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      ref.current();
    }, ms);
  }, [ms]);
}
