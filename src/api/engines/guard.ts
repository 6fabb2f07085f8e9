import { engineUrl, systemResolve, urlAllowed, type Egress } from '../../llm/providers/egress';
import type { ApiDeps } from '../deps';
import { validationFailed } from '../errors';

// Who may create or change an engine (admin, or a manager without a `projects` restriction) is
// the routes' `tenantWide` flag, enforced by the auth middleware (src/api/access.ts).

/** The egress policy of this API's switcher (the one its calls obey), else of its config. */
export function egressOf(deps: ApiDeps): Egress {
  return deps.switcher?.egress ?? { policy: deps.config.engineHostPolicy, resolve: systemResolve };
}

/**
 * A 422 naming `base_url` unless the host the engine would call (its base_url, else the
 * provider's API) is allowed by ENGINE_ALLOWED_HOSTS, after resolving a name. Calls are checked
 * again when made (a name may resolve differently later).
 */
export async function assertEngineUrlAllowed(egress: Egress, provider: string, baseUrl: string | null | undefined): Promise<void> {
  const url = engineUrl(provider, baseUrl);
  if (url === null || (await urlAllowed(egress, url))) return;
  throw validationFailed([
    {
      field: 'base_url',
      message: baseUrl
        ? 'host not allowed: not in ENGINE_ALLOWED_HOSTS (unset: only public addresses in production), or it does not resolve'
        : `the provider's default host (${new URL(url).hostname}) is not allowed by ENGINE_ALLOWED_HOSTS`,
    },
  ]);
}
