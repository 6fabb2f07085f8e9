import { cidrContains, parseCidr, parseIp, type Cidr, type Ip } from './ip';

/**
 * Where outbound engine calls may go: the ENGINE_ALLOWED_HOSTS setting as a pure decision. No
 * DNS here; the transport (src/llm/providers/transport.ts) resolves names and asks
 * `addressesAllowed` about every address before it connects to one of them.
 *
 * - `any`: `*`, or the setting unset outside production (anno dev, tests).
 * - `public`: the setting unset in production — any host whose addresses are all outside the
 *   loopback, link-local, private, CGNAT, unspecified, multicast and reserved ranges.
 * - `list`: the setting's entries. A host name entry (`api.openai.com`, `*.example.com`) allows
 *   the name whatever it resolves to; an IP or CIDR entry allows those addresses (an IP literal
 *   in the URL, or a name all of whose addresses fall inside).
 */
export type HostPolicy =
  | { kind: 'any' }
  | { kind: 'public' }
  | { kind: 'list'; names: string[]; suffixes: string[]; cidrs: Cidr[] };

/** Refused by the `public` policy. */
export const NON_PUBLIC_RANGES: readonly string[] = [
  '0.0.0.0/8', // "this network", incl. 0.0.0.0
  '10.0.0.0/8',
  '100.64.0.0/10', // CGNAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, incl. the 169.254.169.254 metadata service
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, incl. 255.255.255.255
  '::/128',
  '::1/128',
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'fec0::/10', // old site-local
  'ff00::/8', // multicast
];
const NON_PUBLIC = NON_PUBLIC_RANGES.map((r) => parseCidr(r)!);

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

export type ParsedHosts = { ok: true; policy: HostPolicy } | { ok: false; problems: string[] };

/** The ENGINE_ALLOWED_HOSTS text: comma-separated host names (`*.` prefix for subdomains), IPs, CIDRs, or `*`. */
export function parseAllowedHosts(text: string): ParsedHosts {
  const entries = text.split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  if (!entries.length) return { ok: false, problems: ['give at least one host, IP or CIDR, or * for any'] };
  if (entries.includes('*')) return { ok: true, policy: { kind: 'any' } };
  const names: string[] = [];
  const suffixes: string[] = [];
  const cidrs: Cidr[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const cidr = parseCidr(entry);
    if (cidr) cidrs.push(cidr);
    else if (entry.startsWith('*.') && HOST_NAME.test(entry.slice(2))) suffixes.push(entry.slice(1));
    else if (HOST_NAME.test(entry.replace(/\.$/, '')) && !/^[\d.]+$/.test(entry)) names.push(entry.replace(/\.$/, ''));
    else problems.push(`"${entry}" is not a host name, IP, CIDR or *`);
  }
  return problems.length ? { ok: false, problems } : { ok: true, policy: { kind: 'list', names, suffixes, cidrs } };
}

/** The policy in force: the setting when given, else `public` in production and `any` elsewhere. */
export function hostPolicyFor(opts: { nodeEnv: string | undefined; allowedHosts: string | undefined }): HostPolicy {
  if (opts.allowedHosts !== undefined && opts.allowedHosts.trim() !== '') {
    const parsed = parseAllowedHosts(opts.allowedHosts);
    if (!parsed.ok) throw new Error(`ENGINE_ALLOWED_HOSTS: ${parsed.problems.join('; ')}`);
    return parsed.policy;
  }
  return opts.nodeEnv === 'production' ? { kind: 'public' } : { kind: 'any' };
}

/** A URL's hostname as compared: lower case, no brackets, no trailing dot. */
export function normalizeHost(hostname: string): string {
  let h = hostname.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  return h.replace(/\.$/, '');
}

function addressAllowed(policy: HostPolicy, ip: Ip): boolean {
  if (policy.kind === 'any') return true;
  if (policy.kind === 'public') return !NON_PUBLIC.some((c) => cidrContains(c, ip));
  return policy.cidrs.some((c) => cidrContains(c, ip));
}

function nameListed(policy: Extract<HostPolicy, { kind: 'list' }>, host: string): boolean {
  return policy.names.includes(host) || policy.suffixes.some((s) => host.endsWith(s));
}

/**
 * What can be decided about a host before DNS: `allowed`, `refused`, or `resolve` (a name whose
 * addresses decide). `localhost` and `*.localhost` are loopback by definition (RFC 6761).
 */
export function hostDecision(policy: HostPolicy, hostname: string): 'allowed' | 'refused' | 'resolve' {
  if (policy.kind === 'any') return 'allowed';
  const host = normalizeHost(hostname);
  const ip = parseIp(host);
  if (ip) return addressAllowed(policy, ip) ? 'allowed' : 'refused';
  if (policy.kind === 'list') {
    if (nameListed(policy, host)) return 'allowed';
    return policy.cidrs.length ? 'resolve' : 'refused';
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return 'refused';
  return 'resolve';
}

/** After resolving `hostname`: may the transport connect to these addresses? Every one must pass (and there must be one). */
export function addressesAllowed(policy: HostPolicy, hostname: string, addresses: readonly string[]): boolean {
  const before = hostDecision(policy, hostname);
  if (before !== 'resolve') return before === 'allowed';
  if (!addresses.length) return false;
  return addresses.every((a) => {
    const ip = parseIp(a);
    return ip !== null && addressAllowed(policy, ip);
  });
}
