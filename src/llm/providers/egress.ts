import dns from 'node:dns';
import { addressesAllowed, hostDecision, hostPolicyFor, type HostPolicy } from '../../net/host-policy';

/**
 * Where provider calls may connect: the host policy (ENGINE_ALLOWED_HOSTS, see
 * src/net/host-policy.ts) and the resolver whose answers are checked. The transport connects only
 * to addresses this resolver returned and the policy allowed (transport.ts), so a name cannot
 * resolve to an allowed address for the check and another for the connection.
 */
export type ResolveHost = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface Egress {
  policy: HostPolicy;
  resolve: ResolveHost;
}

export const HOST_NOT_ALLOWED_CODE = 'EHOSTNOTALLOWED';
export const HOST_NOT_ALLOWED_MESSAGE = 'the engine host is not allowed by ENGINE_ALLOWED_HOSTS; no connection was made';

/** Raised by the transport before any connection; the SDK errors carry it as their cause. */
export class HostNotAllowedError extends Error {
  readonly code = HOST_NOT_ALLOWED_CODE;
  constructor() {
    super(HOST_NOT_ALLOWED_MESSAGE);
    this.name = 'HostNotAllowedError';
  }
}

export const systemResolve: ResolveHost = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

/** The policy of this process's environment (NODE_ENV, ENGINE_ALLOWED_HOSTS) with the system resolver. */
export function egressFromEnv(env: NodeJS.ProcessEnv = process.env): Egress {
  return { policy: hostPolicyFor({ nodeEnv: env.NODE_ENV, allowedHosts: env.ENGINE_ALLOWED_HOSTS }), resolve: systemResolve };
}

/** The host a provider calls for an engine: its base_url, else the provider's own API. */
export function engineUrl(provider: string, baseUrl: string | null | undefined): string | null {
  if (baseUrl) return baseUrl;
  if (provider === 'openai') return 'https://api.openai.com/v1';
  if (provider === 'anthropic') return 'https://api.anthropic.com';
  return null; // the local engine makes no call
}

/**
 * Whether a URL's host may be called, resolving a name when its addresses decide. A name that
 * does not resolve is refused (with the same answer as a refused one: no DNS oracle).
 */
export async function urlAllowed(egress: Egress, url: string): Promise<boolean> {
  let hostname: string;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return false;
    hostname = parsed.hostname;
  } catch {
    return false;
  }
  const decision = hostDecision(egress.policy, hostname);
  if (decision !== 'resolve') return decision === 'allowed';
  try {
    const addresses = await egress.resolve(hostname);
    return addressesAllowed(egress.policy, hostname, addresses.map((a) => a.address));
  } catch {
    return false;
  }
}
