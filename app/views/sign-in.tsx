import { useState } from 'preact/hooks';
import { ApiFailure, api, describeFailure, useToken } from '../lib/api';
import { saveSession, type Role, type Session } from '../lib/session';

const ROLES: Role[] = ['admin', 'manager', 'annotator', 'reviewer', 'viewer'];

/**
 * Two ways in: in `anno dev`, the development sign-in mints a token for any user and roles; anywhere
 * else, paste a bearer token (`anno token …` or your identity provider's).
 */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [tenant, setTenant] = useState('demo');
  const [user, setUser] = useState('');
  const [roles, setRoles] = useState<Role[]>(['reviewer']);
  const [pasted, setPasted] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const accept = async (token: string) => {
    const session = saveSession(token.trim());
    if (!session) throw new Error('That is not a JWT with sub, tenant_id, roles and exp claims');
    // One call proves the API accepts it before the app relies on it.
    useToken(session.token);
    await api('/projects?page_size=1');
    onSignedIn(session);
  };

  const devSignIn = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ token: string }>('/dev/sign-in', { method: 'POST', json: { tenant_id: tenant, user_id: user, roles }, auth: false });
      await accept(res.token);
    } catch (err) {
      setError(err instanceof ApiFailure && err.status === 404 ? 'Development sign-in is off on this server (it is on only in `anno dev`): paste a token below.' : describeFailure(err));
    } finally {
      setBusy(false);
    }
  };

  const tokenSignIn = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await accept(pasted);
    } catch (err) {
      sessionStorage.clear();
      setError(describeFailure(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="sign-in">
      <h1>Sign in to Annotation Orchestrator</h1>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="cards">
        <form class="card" onSubmit={devSignIn} aria-labelledby="dev-title">
          <h2 id="dev-title">Development sign-in</h2>
          <p class="hint">Only in <code>anno dev</code> (<code>npm start</code>): a token for any user, signed like <code>anno token</code>.</p>
          <label for="dev-tenant">Tenant</label>
          <input id="dev-tenant" required value={tenant} onInput={(e) => setTenant((e.target as HTMLInputElement).value)} />
          <label for="dev-user">User id</label>
          <input id="dev-user" required autoComplete="username" value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
          <fieldset>
            <legend>Roles</legend>
            {ROLES.map((r) => (
              <label class="check">
                <input
                  type="checkbox"
                  name="role"
                  value={r}
                  checked={roles.includes(r)}
                  onChange={(e) => setRoles((cur) => ((e.target as HTMLInputElement).checked ? [...cur, r] : cur.filter((x) => x !== r)))}
                />
                {r}
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={busy || !roles.length}>
            Sign in as this user
          </button>
        </form>
        <form class="card" onSubmit={tokenSignIn} aria-labelledby="token-title">
          <h2 id="token-title">Bearer token</h2>
          <p class="hint">Paste a JWT, e.g. from <code>npm run anno -- token --tenant demo --sub me --roles reviewer</code>. It is kept in this tab only.</p>
          <label for="token">Token</label>
          <textarea id="token" rows={6} required spellcheck={false} value={pasted} onInput={(e) => setPasted((e.target as HTMLTextAreaElement).value)} />
          <button type="submit" disabled={busy}>
            Sign in with token
          </button>
        </form>
      </div>
    </main>
  );
}
