import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { toPrincipal, verifyHs256 } from '../../src/auth/jwt';
import { migrationSource } from '../../src/db/migrations';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { ROOT } from '../helpers/worker-process';

/** The `anno` CLI as an operator runs it: a separate process, configured by the environment. */
const run = promisify(execFile);
const SECRET = 'cli-test-secret-0123456789abcdef';

function anno(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
  });
}

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});

test('anno token prints a JWT the API accepts, with the given tenant, user, roles and projects', async () => {
  const { stdout } = await anno(['token', '--tenant', 'acme', '--sub', 'alice', '--roles', 'manager,reviewer', '--projects', 'p1,p2'], { JWT_SECRET: SECRET });
  const principal = toPrincipal(await verifyHs256(stdout.trim(), SECRET));
  expect(principal).toMatchObject({ tenantId: 'acme', userId: 'alice', roles: ['manager', 'reviewer'], projects: ['p1', 'p2'] });
  await expect(verifyHs256(stdout.trim(), `${SECRET}-other`)).rejects.toThrow();
});

test('a bad setting stops the process with a message naming it', async () => {
  const failed = await anno(['migrate'], { PORT: 'eighty', DATABASE_URL: 'mysql://nope' }).catch((e) => e);
  expect(failed.code).toBe(78);
  expect(failed.stderr).toMatch(/PORT/);
  expect(failed.stderr).toMatch(/DATABASE_URL/);
});

test('anno migrate applies the schema and is idempotent', async () => {
  await tdb.db.migrate.rollback({ migrationSource }, true);
  expect(await tdb.db.schema.hasTable('jobs')).toBe(false);
  await anno(['migrate'], { DATABASE_URL: tdb.url });
  expect(await tdb.db.schema.hasTable('jobs')).toBe(true);
  await anno(['migrate'], { DATABASE_URL: tdb.url });
  const [{ count }] = await tdb.db('engines').where({ name: 'local' }).count({ count: '*' });
  expect(Number(count)).toBe(1);
});

test('unknown commands are refused with the usage', async () => {
  const failed = await anno(['frobnicate']).catch((e) => e);
  expect(failed.code).toBe(2);
  expect(failed.stderr).toMatch(/Usage: anno/);
});

test('anno token refuses an unknown role, listing the valid ones, in one line with exit code 2', async () => {
  const failed = await anno(['token', '--tenant', 'acme', '--sub', 'alice', '--roles', 'reviewer,superuser'], { JWT_SECRET: SECRET }).catch((e) => e);
  expect(failed.code).toBe(2);
  expect(failed.stdout).toBe('');
  expect(failed.stderr.trim().split('\n')).toHaveLength(1);
  expect(failed.stderr).toMatch(/unknown role superuser; valid roles: admin, manager, annotator, reviewer, viewer/);
});

test.each([
  ['a missing flag', ['token', '--sub', 'alice'], /missing --tenant/],
  ['a flag without its value', ['token', '--tenant', 'acme', '--sub'], /--sub/],
  ['an unknown flag', ['token', '--tenant', 'acme', '--sub', 'alice', '--role', 'admin'], /--role/],
  ['a bad duration', ['token', '--tenant', 'acme', '--sub', 'alice', '--expires', 'soon'], /invalid duration/],
])('anno token with %s prints a one-line usage error, no stack trace, exit code 2', async (_name, args, message) => {
  const failed = await anno(args, { JWT_SECRET: SECRET }).catch((e) => e);
  expect(failed.code).toBe(2);
  expect(failed.stdout).toBe('');
  const lines = failed.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^anno token: /);
  expect(lines[0]).toMatch(message);
  expect(lines[0]).toMatch(/usage: anno token --tenant T --sub U/);
  expect(failed.stderr).not.toMatch(/\n\s+at /);
});
