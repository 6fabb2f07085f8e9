import type { Principal } from '../../auth/jwt';
import { engineUrl, systemResolve, urlAllowed, type Egress } from '../../llm/providers/egress';
import type { ApiDeps } from '../deps';
import { forbidden, validationFailed } from '../errors';

/**
 * Engines are tenant-wide: every project of the tenant may route to them. So creating or
 * changing one takes `admin`, or a `manager` whose token has no `projects` restriction; a
 * manager restricted to some projects gets a 403 (engines are visible to the whole tenant, so
 * the 403 tells them nothing a GET would not).
 */
export function requireTenantWideManager(principal: Principal): void {
  if (principal.roles.includes('admin')) return;
  if (principal.projects !== undefined) {
    throw forbidden('Engines are shared by every project of the tenant: changing one requires admin, or a manager token without a projects restriction');
  }
}

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
