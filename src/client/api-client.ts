/**
 * The CLI's HTTP client for a running API: bearer token, the documented error body turned into
 * `ApiRequestError`, nothing else. It talks to the API over HTTP only (no server room imported).
 */

export interface ClientOptions {
  /** The API's base URL, e.g. http://localhost:3000 (the /api/v1 prefix is added). */
  url: string;
  token?: string;
}

/** An answer with an error status, as the API's error body describes it. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { field?: string; message?: string }[] = [],
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ApiRequestError';
  }

  /** One line for a person: status, code, message and the fields that failed. */
  describe(): string {
    const fields = this.details.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message)).filter(Boolean);
    return `${this.status} ${this.code}: ${this.message}${fields.length ? ` (${fields.join('; ')})` : ''}`;
  }

  /** Worth asking again (rate limit, an unavailable dependency, a gateway). */
  get transient(): boolean {
    return this.status === 429 || this.status >= 502;
  }
}

/** A command's failure already worded for a person: printed as is (one line), exit 1. */
export class ClientCommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClientCommandError';
  }
}

const API_PREFIX = '/api/v1';

export class ApiClient {
  private readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  url(path: string): string {
    return `${this.base}${API_PREFIX}${path}`;
  }

  /** A request whose answer the caller reads (streams); an error status throws ApiRequestError. */
  async send(method: string, path: string, init: { body?: string | Uint8Array; contentType?: string; signal?: AbortSignal } = {}): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    if (init.contentType) headers['content-type'] = init.contentType;
    const res = await fetch(this.url(path), { method, headers, body: init.body, signal: init.signal });
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  /** A JSON request and its parsed JSON answer. */
  async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body === undefined ? {} : { body: JSON.stringify(body), contentType: 'application/json' });
    return (await res.json()) as T;
  }
}

async function errorOf(res: Response): Promise<ApiRequestError> {
  const text = await res.text().catch(() => '');
  const retryAfter = Number(res.headers.get('retry-after'));
  try {
    const { error } = JSON.parse(text) as { error: { code: string; message: string; details?: { field?: string; message?: string }[] } };
    return new ApiRequestError(res.status, error.code, error.message, error.details ?? [], Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
  } catch {
    return new ApiRequestError(res.status, 'HTTP_ERROR', text.slice(0, 200) || res.statusText);
  }
}

/** A query string from the defined values. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
