import http from 'node:http';
import https from 'node:https';
import nodeFetch from 'node-fetch';

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
