import Router from '@koa/router';
import type { ApiContextExtras, ApiState } from './deps';
import { enginesRouter } from './engines/routes';
import { routingRouter } from './routing/routes';
import { suggestionsRouter } from './suggestions/routes';
import { aiMetricsRouter } from './ai-metrics/routes';
import { itemsRouter } from './items/routes';
import { jobsRouter } from './jobs/routes';
import { preAnnotationRouter } from './pre-annotation/routes';
import { batchCoverageRouter } from './batch-coverage/routes';
import { tasksRouter } from './tasks/routes';
import { conflictsRouter } from './conflicts/routes';
import { teamProgressRouter } from './team-progress/routes';
import { membersRouter } from './members/routes';
import { API_PREFIX } from './openapi';
import { projectsRouter } from './projects/routes';
import { wsStatsRouter } from '../ws/stats-route';
import { qualityRouter } from './quality/routes';
import { devSignInRouter } from './dev-sign-in/routes';
import { exportRouter } from './export/routes';
import { auditRouter } from './audit/routes';

/**
 * Every resource router, mounted under /api/v1 in this order. Each is a module-level
 * `new Router<ApiState, ApiContextExtras>()` whose routes are made with `defineRoute`
 * (see src/api/openapi.ts), so mounting it here also puts it in /openapi.json.
 */
export const RESOURCE_ROUTERS: Router<ApiState, ApiContextExtras>[] = [
  projectsRouter,
  itemsRouter,
  membersRouter,
  // ─── Append resource routers below, one line each (import them above) ───────────────
  preAnnotationRouter,
  jobsRouter,
  batchCoverageRouter,
  tasksRouter,
  conflictsRouter,
  teamProgressRouter,
  enginesRouter,
  routingRouter,
  suggestionsRouter,
  aiMetricsRouter,
  wsStatsRouter,
  qualityRouter,
  devSignInRouter,
  exportRouter,
  auditRouter,
];

/** The /api/v1 router; `createApp` mounts its routes and allowed-methods handling. */
export function createApiRouter(): Router<ApiState, ApiContextExtras> {
  const api = new Router<ApiState, ApiContextExtras>({ prefix: API_PREFIX });
  for (const router of RESOURCE_ROUTERS) api.use(router.routes());
  return api;
}
