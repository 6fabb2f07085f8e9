import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { httpFetch, type HttpFetchInit } from './http-fetch';
import { addressesAllowed, hostDecision } from '../../net/host-policy';
import { egressFromEnv, HostNotAllowedError, type Egress } from './egress';
import type { ProviderRequest } from './types';

/**
 * The fetch the provider SDKs (openai, @anthropic-ai/sdk) send their requests with: node:http(s)
 * with keep-alive agents, the answer buffered (./http-fetch.ts). The global fetch (undici, with
 * WHATWG streams) cost the API about twice the CPU per provider call, and under load that CPU is
 * the suggestion endpoint's queueing delay and pre-annotation's throughput (`npm run
 * bench:suggest`, `bench:pre-annotate`).
 *
 * Every connection obeys the egress policy (ENGINE_ALLOWED_HOSTS): an IP literal is checked
 * before the request (sockets skip DNS for those), a name in the agents' `lookup`, which
 * resolves it, checks EVERY address and hands the socket only checked ones — the socket connects
 * to what was checked, so DNS rebinding cannot swap it. Redirects are never followed
 * (`redirect: 'manual'`): the SDK sees the 3xx and fails the call, so no redirect can lead to a
 * host the policy refuses. A refusal is a HostNotAllowedError before any connection.
 */
export type SdkFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

function guardedLookup(egress: Egress): LookupFunction {
  return (hostname, options, callback) => {
    egress.resolve(hostname).then(
      (resolved) => {
        if (!addressesAllowed(egress.policy, hostname, resolved.map((a) => a.address))) {
          callback(new HostNotAllowedError(), '', 0);
          return;
        }
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const usable = family === 4 || family === 6 ? resolved.filter((a) => a.family === family) : resolved;
        if (!usable.length) {
          callback(Object.assign(new Error(`no address of family ${family}`), { code: 'ENOTFOUND' }), '', 0);
          return;
        }
        if (options.all) callback(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

const fetches = new WeakMap<Egress, SdkFetch>();

/** The provider fetch of one egress policy (one pair of keep-alive agents per policy). */
export function providerFetchFor(egress: Egress): SdkFetch {
  let fetch = fetches.get(egress);
  if (fetch) return fetch;
  const lookup = guardedLookup(egress);
  const agents = {
    http: new http.Agent({ keepAlive: true, lookup }),
    https: new https.Agent({ keepAlive: true, lookup }),
  };
  fetch = async (input, init) => {
    const target = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if ((target.protocol !== 'http:' && target.protocol !== 'https:') || hostDecision(egress.policy, target.hostname) === 'refused') throw new HostNotAllowedError();
    return httpFetch(target, await sendable(init ?? {}), agents);
  };
  fetches.set(egress, fetch);
  return fetch;
}

/**
 * The request as bytes. Only an upload (or a body that is not bytes yet) waits here: a chat
 * request's body is a string and goes out in this tick.
 */
async function sendable(init: RequestInit): Promise<HttpFetchInit> {
  const { method, headers, body, signal } = init;
  if (body == null || typeof body === 'string' || body instanceof Uint8Array) return { method, headers, body: body ?? null, signal };
  if (typeof FormData !== 'undefined' && body instanceof FormData) return encodeFormData(init as RequestInit & { body: FormData });
  return { method, headers, body: Buffer.from(await new Response(body).arrayBuffer()), signal };
}

/**
 * A WHATWG FormData, which the SDKs build for uploads (OpenAI's files.create for batch input),
 * encoded with the platform's own multipart encoder into bytes and its boundary's content-type.
 */
async function encodeFormData(init: RequestInit & { body: FormData }): Promise<HttpFetchInit> {
  const encoded = new Response(init.body);
  const headers = Object.fromEntries(new Headers(init.headers).entries());
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') delete headers[name];
  headers['content-type'] = encoded.headers.get('content-type') ?? 'multipart/form-data';
  return { method: init.method, headers, body: Buffer.from(await encoded.arrayBuffer()), signal: init.signal };
}

let envEgress: Egress | undefined;
/** The egress of this process's environment (for providers created without one). */
export function defaultEgress(): Egress {
  envEgress ??= egressFromEnv();
  return envEgress;
}

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
export function sdkClientCache<C>(env: NodeJS.ProcessEnv, create: (options: SdkClientOptions) => C): (request: Pick<ProviderRequest, 'engine' | 'timeoutMs'>) => C {
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
