import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import nodeFetch from 'node-fetch';
import type { ProviderRequest } from './types';

/**
 * The fetch the provider SDKs (openai, @anthropic-ai/sdk) send their requests with: node-fetch
 * over node:http(s) with keep-alive agents — the transport the openai SDK itself used on Node
 * until v5. The global fetch (undici, with WHATWG streams) cost the API about twice the CPU per
 * provider call, and under load that CPU is the suggestion endpoint's queueing delay
 * (measured with `npm run bench:suggest`: cache-off CPU per request at 8 in flight 3.8 → 2.0 ms).
 */
const agents = {
  http: new http.Agent({ keepAlive: true }),
  https: new https.Agent({ keepAlive: true }),
};

type SdkFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

export const providerFetch: SdkFetch = (input, init) => {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  return nodeFetch(url, {
    ...(init as object),
    agent: (parsed: URL) => (parsed.protocol === 'https:' ? agents.https : agents.http),
  }) as unknown as Promise<Response>;
};

export interface SdkClientOptions {
  baseURL: string | undefined;
  apiKey: string;
  timeoutMs: number;
}

/**
 * An SDK client per (base URL, API key), reused across calls so their connections are, and
 * bounded (the oldest of 256 goes). The key is read from the engine's `api_key_env` in `env` at
 * each call, so a rotated key takes effect at once; it is never stored in the database.
 */
export function sdkClientCache<C>(env: NodeJS.ProcessEnv, create: (options: SdkClientOptions) => C): (request: ProviderRequest) => C {
  const clients = new Map<string, C>();
  return (request) => {
    const { engine } = request;
    const apiKey = (engine.api_key_env ? env[engine.api_key_env] : undefined) || 'not-needed';
    const baseURL = engine.base_url ?? undefined;
    const key = `${baseURL ?? ''}\u0000${crypto.createHash('sha256').update(apiKey).digest('hex')}`;
    let client = clients.get(key);
    if (!client) {
      client = create({ baseURL, apiKey, timeoutMs: request.timeoutMs });
      if (clients.size >= 256) clients.delete(clients.keys().next().value as string);
      clients.set(key, client);
    }
    return client;
  };
}
