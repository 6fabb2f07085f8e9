/**
 * Each operation's `operationId` and the route-specific statuses it can answer besides the ones
 * `defineRoute` derives from its chain (400/401/403/404/413/415/422/429/500/503). Kept in one
 * table, keyed by `METHOD path` (Koa syntax, relative to /api/v1 unless absolute), so the ids
 * read as one vocabulary and stay unique; test/unit/openapi-document.test.ts checks every
 * operation has one. A route not listed gets an id derived from its method and path.
 */
export interface OperationMeta {
  id: string;
  /** Extra error statuses (shared error schema) and why they happen. */
  errors?: Record<number, string>;
}

const STATE_CONFLICT = 'The resource is not in a state that allows this (CONFLICT)';
const DECISION_PENDING =
  'DECISION_PENDING: the workflow did not record the decision within DECISION_WAIT_MS (Retry-After: 1); sent again with the same idempotency_key it answers the first outcome. SERVICE_UNAVAILABLE: Temporal or the database is down';

export const OPERATIONS: Record<string, OperationMeta> = {
  'GET /health': { id: 'getHealth' },
  'GET /ready': { id: 'getReadiness' },
  'GET /metrics': { id: 'getPrometheusMetrics' },
  'GET /openapi.json': { id: 'getOpenApiDocument' },

  'POST /projects': { id: 'createProject', errors: { 409: 'A project with this name already exists' } },
  'GET /projects': { id: 'listProjects' },
  'GET /projects/:project_id': { id: 'getProject' },
  'POST /projects/:project_id/items': { id: 'importItems', errors: { 409: 'An item with this external id already exists' } },
  'GET /projects/:project_id/items': { id: 'listItems' },
  'GET /projects/:project_id/export': { id: 'exportProject' },
  'POST /projects/:project_id/members': { id: 'upsertMember' },
  'GET /projects/:project_id/members': { id: 'listMembers' },

  'POST /annotation/pre-annotate': { id: 'startPreAnnotation', errors: { 404: 'The project was not found', 409: STATE_CONFLICT } },
  'GET /annotation/pre-annotate/:job_id/progress': { id: 'getPreAnnotationProgress' },
  'GET /annotation/pre-annotate/:job_id/results': { id: 'listPreAnnotationResults' },
  'POST /annotation/pre-annotate/:job_id/pause': { id: 'pausePreAnnotation', errors: { 409: STATE_CONFLICT } },
  'POST /annotation/pre-annotate/:job_id/resume': { id: 'resumePreAnnotation', errors: { 409: STATE_CONFLICT } },
  'POST /annotation/pre-annotate/:job_id/cancel': { id: 'cancelPreAnnotation', errors: { 409: STATE_CONFLICT } },
  'POST /annotation/pre-annotate/:job_id/retry-failed': { id: 'retryFailedPreAnnotation', errors: { 409: STATE_CONFLICT } },
  'POST /annotation/pre-annotate/:job_id/budget': { id: 'setPreAnnotationBudget', errors: { 409: STATE_CONFLICT } },
  'GET /annotation/jobs': { id: 'listJobs' },
  'GET /annotation/jobs/:job_id': { id: 'getJob' },
  'POST /annotation/batch-coverage': { id: 'startBatchCoverage', errors: { 404: 'The project or source item was not found', 409: STATE_CONFLICT } },
  'GET /annotation/batch-coverage/:job_id/results': { id: 'listBatchCoverageResults' },

  'GET /annotation/tasks': { id: 'listTasks' },
  'POST /annotation/tasks/assign': { id: 'assignTask', errors: { 404: 'The project or item was not found', 409: STATE_CONFLICT } },
  'POST /annotation/review-tasks': { id: 'createReviewTasks', errors: { 404: 'The project or an item was not found', 409: STATE_CONFLICT } },
  'GET /annotation/tasks/:task_id': { id: 'getTask' },
  'POST /annotation/tasks/:task_id/decision': { id: 'decideReviewTask', errors: { 409: STATE_CONFLICT, 503: DECISION_PENDING } },
  'POST /annotation/tasks/:task_id/claim': { id: 'claimTask', errors: { 409: STATE_CONFLICT } },
  'POST /annotation/tasks/:task_id/release': { id: 'releaseTask', errors: { 409: STATE_CONFLICT } },
  'POST /annotation/tasks/:task_id/reassign': { id: 'reassignTask', errors: { 409: STATE_CONFLICT } },
  'POST /annotation/tasks/:task_id/cancel': { id: 'cancelTask', errors: { 409: STATE_CONFLICT } },
  'POST /annotation/submit': { id: 'submitAnnotation', errors: { 404: 'The project or item was not found', 409: STATE_CONFLICT, 503: DECISION_PENDING } },
  'POST /annotation/conflicts/resolve': { id: 'resolveConflict', errors: { 404: 'The conflict was not found', 409: STATE_CONFLICT, 503: DECISION_PENDING } },
  'GET /annotation/conflicts/:project_id': { id: 'listConflicts' },
  'GET /annotation/progress/:project_id': { id: 'getTeamProgress' },
  'GET /annotation/audit': { id: 'listAuditEntries', errors: { 404: 'The project was not found' } },

  'GET /annotation/engines': { id: 'listEngines' },
  'POST /annotation/engines': { id: 'createEngine', errors: { 409: 'An engine with this name already exists' } },
  'GET /annotation/engines/:engine_id': { id: 'getEngine' },
  'PUT /annotation/engines/:engine_id': { id: 'updateEngine', errors: { 409: 'An engine with this name already exists' } },
  'POST /annotation/engines/:engine_id/health': { id: 'probeEngine' },
  'POST /annotation/engines/compare': { id: 'compareEngines', errors: { 404: 'The project or an engine was not found' } },
  'GET /annotation/routing/config': { id: 'getRoutingConfig', errors: { 404: 'The project was not found' } },
  'PUT /annotation/routing/config': { id: 'setRoutingConfig', errors: { 404: 'The project or an engine was not found' } },
  'POST /annotation/suggestion': { id: 'suggestLabel', errors: { 404: 'The project or item was not found' } },
  'POST /annotation/feedback': { id: 'recordSuggestionFeedback', errors: { 404: 'The suggestion was not found', 409: STATE_CONFLICT } },
  'GET /annotation/suggestions/history': { id: 'listSuggestionHistory', errors: { 404: 'The project was not found' } },
  'GET /annotation/metrics': { id: 'getAiMetrics', errors: { 404: 'The project was not found' } },
  'GET /annotation/ws/stats': { id: 'getWebSocketStats' },

  'POST /annotation/validate': { id: 'startQualityValidation', errors: { 404: 'The project was not found', 409: STATE_CONFLICT } },
  'POST /annotation/quality-metrics/refresh': { id: 'refreshQualityMetrics', errors: { 404: 'The project was not found', 409: STATE_CONFLICT } },
  'GET /annotation/quality-report/:project_id': { id: 'getQualityReport' },
  'GET /annotation/inconsistencies/:project_id': { id: 'listInconsistencies' },
  'GET /annotation/quality-metrics': { id: 'getQualityMetrics', errors: { 404: 'The project was not found' } },

  'GET /app': { id: 'getWebApp', errors: { 503: 'The web app is not built (`npm run build:app`)' } },
  'POST /dev/sign-in': { id: 'devSignIn', errors: { 404: 'Development sign-in is off (anything but `anno dev`)' } },
};

/** The table's entry, or `postAnnotationTasksTaskIdClaim`-style id derived from method and path. */
export function operationFor(method: string, path: string): OperationMeta {
  const known = OPERATIONS[`${method.toUpperCase()} ${path}`];
  if (known) return known;
  const words = path
    .split(/[/_\-.:]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1));
  return { id: method.toLowerCase() + words.join('') };
}
