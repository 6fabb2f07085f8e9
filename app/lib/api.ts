/** The API, as the app calls it: JSON in and out, the bearer token, the documented error shape. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

let token: string | null = null;
let onUnauthorized: () => void = () => undefined;

export function useToken(t: string | null, whenRefused: () => void = () => undefined): void {
  token = t;
  onUnauthorized = whenRefused;
}

export async function api<T>(path: string, init: { method?: string; json?: unknown; auth?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (init.auth !== false && token) headers.Authorization = `Bearer ${token}`;
  if (init.json !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method: init.method ?? (init.json !== undefined ? 'POST' : 'GET'), headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
  } catch (err) {
    throw new ApiFailure(0, 'NETWORK', `The API did not answer (${(err as Error).message})`);
  }
  const text = await res.text();
  const body = text ? safeJson(text) : null;
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string; details?: { field: string; message: string }[] } } | null)?.error;
    if (res.status === 401 && init.auth !== false) onUnauthorized();
    throw new ApiFailure(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `${res.status} ${res.statusText}`, e?.details ?? []);
  }
  return body as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export const post = <T>(path: string, json: unknown = {}) => api<T>(path, { method: 'POST', json });

/** A message for the page: the API's message plus the fields it names. */
export function describeFailure(err: unknown): string {
  if (err instanceof ApiFailure) {
    const fields = err.details.map((d) => `${d.field}: ${d.message}`).join('; ');
    return fields ? `${err.message} (${fields})` : err.message;
  }
  return (err as Error)?.message ?? String(err);
}

/** Every page of a list endpoint, up to `max` rows (a bound on what a page of the app shows). */
export async function allPages<T>(path: string, max = 2000): Promise<T[]> {
  const out: T[] = [];
  const sep = path.includes('?') ? '&' : '?';
  for (let page = 1; out.length < max; page++) {
    const res = await api<Page<T>>(`${path}${sep}page=${page}&page_size=500`);
    out.push(...res.items);
    if (res.items.length === 0 || page * res.page_size >= res.total) break;
  }
  return out.slice(0, max);
}

export interface Page<T> {
  items: T[];
  page: number;
  page_size: number;
  total: number;
}
