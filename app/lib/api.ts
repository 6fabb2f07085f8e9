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

/** How long a decision is sent again while the API answers 503 or does not answer at all. */
const DECISION_RETRY_FOR_MS = 120_000;

/**
 * POSTs a decision (a review decision, a submission, a conflict's resolution) with an
 * idempotency key of its own, and sends it again with the same key while the API answers 503
 * (e.g. DECISION_PENDING: not recorded yet) or cannot be reached: the workflow records it once
 * and every retry answers that one outcome. `onWaiting` hears of each retry, for the page.
 */
export async function postDecision<T>(path: string, json: Record<string, unknown>, onWaiting: (attempt: number) => void = () => undefined): Promise<T> {
  const body = { ...json, idempotency_key: newIdempotencyKey() };
  const until = Date.now() + DECISION_RETRY_FOR_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await post<T>(path, body);
    } catch (err) {
      const retryable = err instanceof ApiFailure && (err.status === 503 || err.status === 0);
      if (!retryable || Date.now() > until) throw err;
      onWaiting(attempt);
      await new Promise((r) => setTimeout(r, Math.min(1000 * attempt, 5000)));
    }
  }
}

/** 32 hex characters; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

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
