/**
 * Run by jwt.test.ts in a plain Node process through tsx (how `npm start` loads jose, ESM only):
 * serves a JWKS, verifies tokens through createTokenVerifier, prints one JSON line.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenVerifier } from '../../../src/auth/jwt';

async function main(): Promise<void> {
  const jose = await import('jose');
  const { publicKey, privateKey } = await jose.generateKeyPair('RS256');
  const foreign = await jose.generateKeyPair('RS256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const server = http.createServer((_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`;
  const verify = createTokenVerifier({ jwtSecret: undefined, JWT_JWKS_URL: url, JWT_ISSUER: undefined, JWT_AUDIENCE: undefined });
  const sign = (claims: Record<string, unknown>, key = privateKey) =>
    new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setExpirationTime('5m').setSubject('jwks-user').sign(key);

  const principal = await verify(await sign({ tenant_id: 'jwks-tenant', roles: ['reviewer'] }));
  const foreignKeyError = await verify(await sign({ tenant_id: 'jwks-tenant', roles: ['reviewer'] }, foreign.privateKey)).then(
    () => 'accepted',
    (e: Error) => e.message,
  );
  const badClaimsError = await verify(await sign({ tenant_id: 'jwks-tenant', roles: ['root'] })).then(
    () => 'accepted',
    (e: Error) => e.message,
  );
  server.close();
  process.stdout.write(`${JSON.stringify({ principal, foreignKeyError, badClaimsError })}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
