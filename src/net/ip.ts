/**
 * IP addresses and CIDR blocks as numbers, for the outbound host policy (host-policy.ts). Pure:
 * no DNS, no sockets. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is read as the IPv4 address
 * it maps, so a block on 127.0.0.0/8 also covers ::ffff:127.0.0.1.
 */
export interface Ip {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
}

function parseIpv4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    value = (value << 8n) | BigInt(Number(p));
  }
  return value;
}

function parseIpv6(input: string): bigint | null {
  let text = input;
  // An embedded dotted IPv4 tail (::ffff:1.2.3.4) is the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (s: string) => (s === '' ? [] : s.split(':'));
  const head = groupsOf(halves[0]);
  const back = halves.length === 2 ? groupsOf(halves[1]) : [];
  for (const g of [...head, ...back]) if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
  const given = head.length + back.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return null;
  const groups = [...head, ...Array<string>(8 - given).fill('0'), ...back].map((g) => BigInt(parseInt(g, 16)));
  return groups.reduce((v, g) => (v << 16n) | g, 0n);
}

/** An IPv4 or IPv6 literal (brackets and an IPv6 zone id allowed), or null. IPv4-mapped IPv6 comes back as IPv4. */
export function parseIp(input: string): Ip | null {
  let text = input.trim().toLowerCase();
  if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    return v4 === null ? null : { family: 4, value: v4 };
  }
  const zone = text.indexOf('%');
  const v6 = parseIpv6(zone >= 0 ? text.slice(0, zone) : text);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { family: 4, value: v6 & 0xffffffffn };
  return { family: 6, value: v6 };
}

/** `10.0.0.0/8`, `fc00::/7`, or a single address (a /32 or /128). Null when malformed. */
export function parseCidr(input: string): Cidr | null {
  const [addr, bitsText, extra] = input.trim().split('/');
  if (extra !== undefined) return null;
  const lowered = addr.toLowerCase();
  // A mapped IPv6 block (::ffff:10.0.0.0/104) is its IPv4 block.
  const ip = parseIp(addr);
  if (!ip) return null;
  const mappedInput = ip.family === 4 && lowered.includes(':');
  const width = ip.family === 4 ? 32 : 128;
  let bits = width;
  if (bitsText !== undefined) {
    if (!/^\d{1,3}$/.test(bitsText)) return null;
    bits = Number(bitsText) - (mappedInput ? 96 : 0);
    if (bits < 0 || bits > width) return null;
  }
  const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
  return { family: ip.family, base: ip.value & mask, bits };
}

export function cidrContains(cidr: Cidr, ip: Ip): boolean {
  if (cidr.family !== ip.family) return false;
  const width = cidr.family === 4 ? 32 : 128;
  const shift = BigInt(width - cidr.bits);
  return ip.value >> shift === cidr.base >> shift;
}
