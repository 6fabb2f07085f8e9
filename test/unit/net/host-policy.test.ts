import { cidrContains, parseCidr, parseIp } from '../../../src/net/ip';
import { addressesAllowed, hostDecision, hostPolicyFor, parseAllowedHosts, type HostPolicy } from '../../../src/net/host-policy';

const hostOf = (url: string) => new URL(url).hostname;
const policy = (text: string): HostPolicy => {
  const parsed = parseAllowedHosts(text);
  if (!parsed.ok) throw new Error(parsed.problems.join('; '));
  return parsed.policy;
};
const PUBLIC: HostPolicy = { kind: 'public' };

describe('IP literals', () => {
  it.each([
    ['127.0.0.1', 4, 0x7f000001n],
    ['::1', 6, 1n],
    ['[::1]', 6, 1n],
    ['::', 6, 0n],
    ['fe80::1%eth0', 6, (0xfe80n << 112n) | 1n],
    ['::ffff:127.0.0.1', 4, 0x7f000001n],
    ['::ffff:7f00:1', 4, 0x7f000001n],
    ['2001:db8::8a2e:370:7334', 6, 0x20010db80000000000008a2e03707334n],
    ['1:2:3:4:5:6:7:8', 6, 0x00010002000300040005000600070008n],
  ])('parses %s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, value });
  });

  it.each(['256.0.0.1', '1.2.3', '1:2:3:4:5:6:7:8:9', '1::2::3', 'example.com', '12345::', '::ffff:1.2.3.400', ''])('rejects %s', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it('matches CIDR blocks of both families, mapped IPv6 as IPv4', () => {
    const ten = parseCidr('10.0.0.0/8')!;
    expect(cidrContains(ten, parseIp('10.255.1.2')!)).toBe(true);
    expect(cidrContains(ten, parseIp('11.0.0.1')!)).toBe(false);
    expect(cidrContains(ten, parseIp('::ffff:10.1.2.3')!)).toBe(true);
    const ula = parseCidr('fc00::/7')!;
    expect(cidrContains(ula, parseIp('fd12:3456::1')!)).toBe(true);
    expect(cidrContains(ula, parseIp('fe00::1')!)).toBe(false);
    expect(parseCidr('::ffff:10.0.0.0/104')).toEqual(ten);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('8.8.8.8')!)).toBe(true);
    expect(cidrContains(parseCidr('0.0.0.0/0')!, parseIp('::8')!)).toBe(false);
    expect(parseCidr('10.0.0.0/33')).toBeNull();
    expect(parseCidr('10.0.0.0/8/1')).toBeNull();
  });
});

describe('ENGINE_ALLOWED_HOSTS', () => {
  it('parses names, wildcards, IPs and CIDRs; * means any', () => {
    expect(policy(' API.openai.com , *.internal.example, 10.0.0.0/8, 192.168.1.7, fd00::/8')).toEqual({
      kind: 'list',
      names: ['api.openai.com'],
      suffixes: ['.internal.example'],
      cidrs: [parseCidr('10.0.0.0/8'), parseCidr('192.168.1.7'), parseCidr('fd00::/8')],
    });
    expect(policy('api.openai.com,*')).toEqual({ kind: 'any' });
  });

  it.each(['', ' , ', 'http://x.example', 'x.example:8080', '10.0.0.0/40', '300.1.1.1', 'bad host'])('rejects %j', (text) => {
    expect(parseAllowedHosts(text).ok).toBe(false);
  });

  it('defaults to public-only in production and to any elsewhere; a setting replaces the default', () => {
    expect(hostPolicyFor({ nodeEnv: 'production', allowedHosts: undefined })).toEqual({ kind: 'public' });
    expect(hostPolicyFor({ nodeEnv: 'test', allowedHosts: undefined })).toEqual({ kind: 'any' });
    expect(hostPolicyFor({ nodeEnv: 'development', allowedHosts: ' ' })).toEqual({ kind: 'any' });
    expect(hostPolicyFor({ nodeEnv: 'production', allowedHosts: '127.0.0.1' }).kind).toBe('list');
    expect(() => hostPolicyFor({ nodeEnv: 'production', allowedHosts: 'nope nope' })).toThrow(/ENGINE_ALLOWED_HOSTS/);
  });
});

describe('the public policy (production default)', () => {
  it.each([
    'http://127.0.0.1:8080',
    'http://127.1.2.3',
    'http://2130706433', // 127.0.0.1 in decimal: the URL parser normalises it
    'http://0x7f.1',
    'http://0.0.0.0',
    'http://10.1.2.3',
    'http://172.16.0.1',
    'http://172.31.255.255',
    'http://192.168.0.10',
    'http://100.64.0.1',
    'http://169.254.169.254/latest/meta-data',
    'http://169.254.1.1',
    'http://[::1]',
    'http://[::]',
    'http://[::ffff:127.0.0.1]',
    'http://[::ffff:169.254.169.254]',
    'http://[fd00::1]',
    'http://[fe80::1]',
    'http://localhost:3000',
    'http://api.localhost',
    'http://224.0.0.1',
  ])('refuses %s before any DNS', (url) => {
    expect(hostDecision(PUBLIC, hostOf(url))).toBe('refused');
  });

  it('allows public addresses and resolves names, refusing a name with any non-public address', () => {
    expect(hostDecision(PUBLIC, hostOf('https://8.8.8.8'))).toBe('allowed');
    expect(hostDecision(PUBLIC, hostOf('https://[2606:4700::1111]'))).toBe('allowed');
    expect(hostDecision(PUBLIC, hostOf('http://172.32.0.1'))).toBe('allowed');
    expect(hostDecision(PUBLIC, 'api.openai.com')).toBe('resolve');
    expect(addressesAllowed(PUBLIC, 'api.openai.com', ['104.18.6.192', '2606:4700::6812:6c0'])).toBe(true);
    expect(addressesAllowed(PUBLIC, 'rebind.example', ['104.18.6.192', '127.0.0.1'])).toBe(false);
    expect(addressesAllowed(PUBLIC, 'rebind.example', ['::ffff:10.0.0.1'])).toBe(false);
    expect(addressesAllowed(PUBLIC, 'nothing.example', [])).toBe(false);
  });
});

describe('an explicit list', () => {
  const list = policy('api.openai.com,*.corp.example,10.20.0.0/16,fd00::5');

  it('allows listed names whatever they resolve to, and listed addresses', () => {
    expect(hostDecision(list, 'API.OpenAI.com.')).toBe('allowed');
    expect(hostDecision(list, 'vllm.corp.example')).toBe('allowed');
    expect(addressesAllowed(list, 'vllm.corp.example', ['10.9.9.9'])).toBe(true);
    expect(hostDecision(list, '10.20.3.4')).toBe('allowed');
    expect(hostDecision(list, '[fd00::5]')).toBe('allowed');
    expect(hostDecision(list, '::ffff:10.20.0.1')).toBe('allowed');
  });

  it('refuses everything else, including what the default would allow', () => {
    expect(hostDecision(list, 'corp.example')).toBe('resolve'); // not a subdomain: its addresses decide
    expect(addressesAllowed(list, 'corp.example', ['10.21.0.1'])).toBe(false);
    expect(addressesAllowed(list, 'other.example', ['10.20.0.9'])).toBe(true);
    expect(hostDecision(list, '8.8.8.8')).toBe('refused');
    expect(hostDecision(list, '127.0.0.1')).toBe('refused');
    expect(hostDecision(policy('api.openai.com'), 'evil.example')).toBe('refused'); // no CIDRs: no resolving
  });

  it('a list naming loopback allows it even in production', () => {
    expect(hostDecision(policy('127.0.0.1'), '127.0.0.1')).toBe('allowed');
    expect(hostDecision(policy('127.0.0.1'), '127.0.0.2')).toBe('refused');
    expect(hostDecision(policy('localhost'), 'localhost')).toBe('allowed');
  });
});
