import { ApplicationFailure, ContinueAsNew, continueAsNew, defineQuery, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ValidationActivities, ValidationScope } from '../activities/validation';
import type { QualityThresholds } from '../src/quality/quality-thresholds';
import { emptyPartial, mergePartials, SAMPLE_LIMIT, type QualityPartial } from '../src/quality/report-partial';

export interface ValidationInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  scope: ValidationScope;
  /** Items per metrics activity (and per page of the near-duplicate pass). */
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
  /** First seq of each page of items in scope (see startValidationJob). */
  pageStarts: number[];
  /** Pages 0..nextPage-1 are done. */
  nextPage: number;
  processed: number;
  total: number;
  startedAt: string;
  labels: string[];
  thresholds: QualityThresholds;
  partial: QualityPartial;
  runs: number;
  /** The near-duplicate pass, once it has finished (it runs beside the metrics pages). */
  near?: { found: number; indexed: number };
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
  /** Items that need a conflict beyond this run's `conflict_max_per_validation`: the next validation opens them. */
  conflicts_deferred?: number;
}

export const progressQuery = defineQuery<ValidationProgress>('progress');

/** Metrics pages running side by side (each is one indexed query plus a few ms of arithmetic). */
const PAGES_IN_FLIGHT = 2;

const acts = proxyActivities<ValidationActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * Validates a project (or a job's items): metrics page by page (each page an activity returning a
 * mergeable partial, summed here; two pages in flight), near-duplicates in one streaming activity
 * running beside them, continue-as-new every `pagesPerRun` pages, then the report,
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
      const started = await acts.startValidationJob({ tenantId, projectId, jobId, scope, pageSize: input.pageSize });
      state = {
        pageStarts: started.pageStarts,
        nextPage: 0,
        processed: 0,
        total: started.total,
        startedAt: started.startedAt,
        labels: started.labels,
        thresholds: started.thresholds,
        partial: emptyPartial(),
        runs: 0,
      };
    }
    const s = state;
    phase = 'metrics';

    // The near-duplicate pass streams the scope on its own; it runs beside the metrics pages.
    let nearError: unknown;
    const nearDone: Promise<void> = s.near
      ? Promise.resolve()
      : long
          .detectNearDuplicates({ tenantId, projectId, jobId, scope, labels: s.labels, similarity: s.thresholds.near_duplicate.similarity, pageSize: input.pageSize })
          .then(
            (r) => void (s.near = r),
            (err) => void (nearError = err),
          );

    // Metrics: up to PAGES_IN_FLIGHT pages at a time; each returns a partial that is added here.
    const end = scope.kind === 'project' ? Number.MAX_SAFE_INTEGER : 2_147_483_647;
    const inFlight = new Map<number, Promise<void>>();
    let pagesThisRun = 0;
    const runPage = (i: number) => {
      const p = acts
        .accumulateQualityPage({
          tenantId,
          projectId,
          scope,
          fromSeq: s.pageStarts[i],
          toSeq: s.pageStarts[i + 1] ?? end,
          labels: s.labels,
          driftWindowMs: s.thresholds.drift.window_hours * 3_600_000,
          // Only as many disagreeing item ids as the sample still has room for: page results stay small.
          sampleLimit: Math.max(0, SAMPLE_LIMIT - s.partial.disagreeingSample.length),
        })
        .then(async (page) => {
          s.partial = mergePartials(s.partial, page.partial);
          s.processed += page.count;
          updatedAt = new Date().toISOString();
          await acts.recordValidationProgress({ tenantId, projectId, jobId, total: s.total, processed: s.processed, phase: 'metrics' });
          inFlight.delete(i);
        });
      inFlight.set(i, p);
    };
    const rollOver = () => pagesThisRun >= input.pagesPerRun || workflowInfo().continueAsNewSuggested;
    for (;;) {
      if (s.nextPage < s.pageStarts.length && !rollOver() && inFlight.size < PAGES_IN_FLIGHT) {
        runPage(s.nextPage++);
        pagesThisRun++;
        continue;
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
    phase = 'inconsistencies';
    await nearDone;
    if (nearError) throw nearError;
    if (s.nextPage < s.pageStarts.length) {
      // This run did its share: a fresh run (small history) carries the sums and the cursor.
      await continueAsNew<typeof validation>({ ...input, carried: { ...s, runs: s.runs + 1 } });
    }
    const near = s.near!;

    phase = 'report';
    const report = await acts.writeQualityReport({ tenantId, projectId, jobId, scope, partial: s.partial, labels: s.labels, thresholds: s.thresholds });
    reportId = report.reportId;

    phase = 'alerts';
    await acts.raiseQualityAlerts({ tenantId, projectId, jobId, reportId: report.reportId, alerts: report.alerts });

    let conflictsOpened = 0;
    let conflictsDeferred = 0;
    if (input.openConflicts && report.disagreeingItems.length > 0) {
      phase = 'conflicts';
      // The pass scans the scope itself (in item order, skipping settled and open items); the
      // sample only says there is something to look for.
      const pass = await long.openQualityConflicts({ tenantId, projectId, scope, pageSize: input.pageSize, taskQueue: input.taskQueue });
      conflictsOpened = pass.opened;
      conflictsDeferred = pass.deferred ?? 0;
    }

    const result: ValidationResult = {
      report_id: report.reportId,
      passed: report.passed,
      items: s.processed,
      inconsistencies: report.inconsistencies,
      near_duplicates: near.found,
      alerts: report.alerts.length,
      conflicts_opened: conflictsOpened,
      conflicts_deferred: conflictsDeferred,
    };
    await acts.finishValidationJob({ tenantId, projectId, jobId, status: 'completed', total: s.total, processed: s.processed, result: { ...result } });
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
