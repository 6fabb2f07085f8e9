import { parseArgs } from 'node:util';
import { ROLES, toSeconds, type MintOptions, type Role } from './auth/jwt';

/** A mistake on the command line: printed as one line (no stack trace), exit code 2. */
export class UsageError extends Error {
  constructor(command: string, problem: string, usage = USAGES[command]) {
    super(`anno ${command}: ${problem}${usage ? ` (usage: ${usage})` : ''}`);
    this.name = 'UsageError';
  }
}

const USAGES: Record<string, string> = {
  token: `anno token --tenant T --sub U [--roles ${ROLES.join(',')}] [--projects id,id] [--expires 24h]`,
};

/** `anno token` flags → what mintToken needs; UsageError for a missing flag, unknown role or bad duration. */
export function parseTokenArgs(args: string[]): Omit<MintOptions, 'secret'> {
  let values: { tenant?: string; sub?: string; roles?: string; projects?: string; expires?: string };
  try {
    ({ values } = parseArgs({
      args,
      options: {
        tenant: { type: 'string' },
        sub: { type: 'string' },
        roles: { type: 'string', default: 'admin' },
        projects: { type: 'string' },
        expires: { type: 'string', default: '24h' },
      },
    }));
  } catch (err) {
    throw new UsageError('token', (err as Error).message.split('\n')[0]);
  }
  const missing = (['tenant', 'sub'] as const).filter((f) => !values[f]?.trim());
  if (missing.length) throw new UsageError('token', `missing ${missing.map((f) => `--${f}`).join(' and ')}`);
  const roles = values.roles!.split(',').map((r) => r.trim()).filter(Boolean);
  const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
  if (unknown.length || !roles.length) {
    throw new UsageError('token', `unknown role${unknown.length === 1 ? '' : 's'} ${unknown.join(', ') || '(none given)'}; valid roles: ${ROLES.join(', ')}`);
  }
  try {
    toSeconds(values.expires!);
  } catch (err) {
    throw new UsageError('token', (err as Error).message);
  }
  return {
    tenantId: values.tenant!.trim(),
    sub: values.sub!.trim(),
    roles: [...new Set(roles)] as Role[],
    projects: values.projects?.split(',').map((p) => p.trim()).filter(Boolean),
    expiresIn: values.expires!,
  };
}
