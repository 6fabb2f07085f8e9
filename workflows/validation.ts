import { ApplicationFailure, ContinueAsNew, continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ValidationActivities, ValidationScope } from '../activities/validation';
import type { QualityThresholds } from '../src/quality/quality-thresholds';
import { emptyPartial, mergePartials, type QualityPartial } from '../src/quality/report-partial';

export interface ValidationInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  scope: ValidationScope;
  /** Items per metrics activity. */
  pageSize: number;
  /** Pages one run handles before continuing as new (history stays small). */
  pagesPerRun: number;
  /** Open conflicts for disagreeing items (only where the project wants ≥ 2 annotators per item). */
  openConflicts: boolean;
  /** Task queue the conflict workflows are started on. */
  taskQueue: string;
  heartbeatTimeoutSeconds: number;
  /** Carried across continue-as-new; absent on the first run. */
  carried?: ValidationCarried;
}

export interface ValidationCarried {
  cursor: number;
  processed: number;
  total: number;
  startedAt: string;
  labels: string[];
  thresholds: QualityThresholds;
  partial: QualityPartial;
  runs: number;
}

export type ValidationPhase = 'pending' | 'metrics' | 'inconsistencies' | 'report' | 'alerts' | 'conflicts' | 'done' | 'failed';

export interface ValidationProgress {
  status: 'pending' | 'running' | 'completed' | 'failed';
  phase: ValidationPhase;
  total: number;
  processed: number;
  startedAt: string | null;
  updatedAt: string;
  runs: number;
  reportId: string | null;
}

export interface ValidationResult {
  report_id: string;
  passed: boolean;
  items: number;
  inconsistencies: number;
  near_duplicates: number;
  alerts: number;
  conflicts_opened: number;
}

export const progressQuery = defineQuery<ValidationProgress>('progress');

const acts = proxyActivities<ValidationActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * Validates a project (or a job's items): metrics page by page (each page an activity returning a
 * mergeable partial, summed here), near-duplicates in one streaming activity, then the report,
 * inconsistencies, alerts (once per report and metric) and conflicts. The job row and the outbox
 * follow every step (`job.progress`, `job.completed`).
 */
export async function validation(input: ValidationInput): Promise<ValidationResult> {
  const { tenantId, projectId, jobId, scope } = input;
  let phase: ValidationPhase = input.carried ? 'metrics' : 'pending';
  let state: ValidationCarried | undefined = input.carried;
  let updatedAt = new Date().toISOString();
  let reportId: string | null = null;
  setHandler(progressQuery, () => ({
    status: phase === 'pending' ? 'pending' : phase === 'done' ? 'completed' : phase === 'failed' ? 'failed' : 'running',
    phase,
    total: state?.total ?? 0,
    processed: state?.processed ?? 0,
    startedAt: state?.startedAt ?? null,
    updatedAt,
    runs: state?.runs ?? 0,
    reportId,
  }));

  const long = proxyActivities<ValidationActivities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
  });

  try {
    if (!state) {
      const started = await acts.startValidationJob({ tenantId, projectId, jobId, scope });
      state = { cursor: -1, processed: 0, total: started.total, startedAt: started.startedAt, labels: started.labels, thresholds: started.thresholds, partial: emptyPartial(), runs: 0 };
    }
    phase = 'metrics';
    let pages = 0;
    for (;;) {
      if (pages >= input.pagesPerRun || workflowInfo().continueAsNewSuggested) {
        await continueAsNew<typeof validation>({ ...input, carried: { ...state, runs: state.runs + 1 } });
      }
      const page = await acts.accumulateQualityPage({
        tenantId,
        projectId,
        scope,
        afterSeq: state.cursor,
        limit: input.pageSize,
        labels: state.labels,
        driftWindowMs: state.thresholds.drift.window_hours * 3_600_000,
      });
      pages++;
      if (page.count > 0) {
        state.partial = mergePartials(state.partial, page.partial);
        state.cursor = page.lastSeq;
        state.processed += page.count;
        updatedAt = new Date().toISOString();
        await acts.recordValidationProgress({ tenantId, projectId, jobId, total: state.total, processed: state.processed, phase });
      }
      if (page.count < input.pageSize) break;
    }

    phase = 'inconsistencies';
    const near = await long.detectNearDuplicates({
      tenantId,
      projectId,
      jobId,
      scope,
      labels: state.labels,
      similarity: state.thresholds.near_duplicate.similarity,
      pageSize: input.pageSize,
    });

    phase = 'report';
    const report = await acts.writeQualityReport({ tenantId, projectId, jobId, scope, partial: state.partial, labels: state.labels, thresholds: state.thresholds });
    reportId = report.reportId;

    phase = 'alerts';
    await acts.raiseQualityAlerts({ tenantId, projectId, jobId, reportId: report.reportId, alerts: report.alerts });

    let conflictsOpened = 0;
    if (input.openConflicts && report.disagreeingItems.length > 0) {
      phase = 'conflicts';
      conflictsOpened = (await long.openQualityConflicts({ tenantId, projectId, itemIds: report.disagreeingItems, taskQueue: input.taskQueue })).opened;
    }

    const result: ValidationResult = {
      report_id: report.reportId,
      passed: report.passed,
      items: state.processed,
      inconsistencies: report.inconsistencies,
      near_duplicates: near.found,
      alerts: report.alerts.length,
      conflicts_opened: conflictsOpened,
    };
    await acts.finishValidationJob({ tenantId, projectId, jobId, status: 'completed', total: state.total, processed: state.processed, result: { ...result } });
    phase = 'done';
    return result;
  } catch (err) {
    // continueAsNew throws to end the run: let it through.
    if (err instanceof ContinueAsNew) throw err;
    phase = 'failed';
    const message = (err as Error)?.cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error)?.message;
    await acts.finishValidationJob({
      tenantId,
      projectId,
      jobId,
      status: 'failed',
      total: state?.total ?? 0,
      processed: state?.processed ?? 0,
      result: {},
      error: String(message ?? 'validation failed').slice(0, 2000),
    });
    throw ApplicationFailure.nonRetryable(`validation failed: ${message}`);
  }
}
