import { UsageError, parseTokenArgs } from '../../../src/cli-args';

test('parseTokenArgs turns flags into mint options (roles deduplicated, projects split)', () => {
  expect(parseTokenArgs(['--tenant', ' acme ', '--sub', 'alice', '--roles', 'manager, reviewer,manager', '--projects', 'p1,p2', '--expires', '2h'])).toEqual({
    tenantId: 'acme',
    sub: 'alice',
    roles: ['manager', 'reviewer'],
    projects: ['p1', 'p2'],
    expiresIn: '2h',
  });
  expect(parseTokenArgs(['--tenant', 't', '--sub', 'u'])).toMatchObject({ roles: ['admin'], projects: undefined, expiresIn: '24h' });
});

test.each([
  [['--sub', 'u'], /missing --tenant/],
  [['--tenant', 't', '--sub', ' '], /missing --sub/],
  [[], /missing --tenant and --sub/],
  [['--tenant', 't', '--sub', 'u', '--roles', 'superuser'], /unknown role superuser; valid roles: admin, manager/],
  [['--tenant', 't', '--sub', 'u', '--roles', ','], /unknown roles \(none given\)/],
  [['--tenant', 't', '--sub', 'u', '--bogus'], /bogus/],
  [['--tenant', 't', '--sub', 'u', '--expires', '1y'], /invalid duration/],
])('parseTokenArgs(%j) is a UsageError', (args, message) => {
  const err = (() => {
    try {
      parseTokenArgs(args);
    } catch (e) {
      return e as Error;
    }
    return null;
  })();
  expect(err).toBeInstanceOf(UsageError);
  expect(err!.message).toMatch(message);
  expect(err!.message.split('\n')).toHaveLength(1);
});
