import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { PreAnnotationActivities } from '../activities/pre-annotation';
import { patched } from '@temporalio/workflow';
import type { TaskActivities } from '../activities/tasks';
import { batchesInFlight, nextBatch, type BatchRange } from '../src/annotation/batching';
import { addCounters, ZERO_COUNTERS, type JobCounters, type JobStatus } from '../src/annotation/job-progress';
import { budgetReached, compareDecimals } from '../src/annotation/budget';
import type { ProviderBatchSettings } from '../src/annotation/provider-batching';
import type { ProviderBatchView } from '../activities/provider-batches';
import { runBatchMode } from './pre-annotation-batch-mode';

export interface PreAnnotationInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  engineId: string;
  fallbackEngineIds: string[];
  batchSize: number;
  concurrency: number;
  instructions?: string;
  /** Batches one run completes before continuing as new. */
  batchesPerRun: number;
  /** Task queue of the LLM batch activities. */
  llmTaskQueue: string;
  /** Seconds without a heartbeat before a batch is retried elsewhere. */
  heartbeatTimeoutSeconds: number;
  /**
   * Spend limit in USD (a decimal string), compared exactly with the job's ledger spend. Once
   * the spend reaches it no new batch starts and the job pauses (reason 'budget') until the
   * `setBudget` signal raises it. Batches already running finish, so the budget can be
   * overshot by at most the batches in flight; with a budget the in-flight window drops its
   * overlap batch (ceil(concurrency / batchSize) batches) to keep that overshoot small.
   */
  maxCostUsd?: string;
  /**
   * Set on a run started by POST …/retry-failed: the n-th retry of this job. Its first activity
   * moves the job's failed items to the end of the job's sequence and clears their failed
   * annotations, once per round however often it is retried, and the run annotates just those.
   */
  retryRound?: number;
  /**
   * `batch`: through the engine's provider batch API (workflows/pre-annotation-batch-mode.ts) at
   * its batch price. Absent (every run from before batch mode): sync.
   */
  mode?: 'sync' | 'batch';
  /** Batch mode's settings (chunk size, polling backoff, retries). */
  providerBatch?: ProviderBatchSettings;
  /** Carried across continue-as-new; absent on the first run. */
  carried?: CarriedState;
}

export interface CarriedState {
  cursor: number;
  /** Items in the job (what progress reports). */
  total: number;
  /** End of the sequence range this job works through; absent: `total` (no retry round yet). */
  seqEnd?: number;
  counters: JobCounters;
  startedAt: string;
  paused: boolean;
  runs: number;
  /** The job's spend as last read from jobs.cost_usd (decimal string). */
  spentUsd?: string;
  /** The budget, as raised by `setBudget`; null or absent: none. */
  maxCostUsd?: string | null;
}

export type PauseReason = 'manual' | 'budget';

export interface PreAnnotationProgress {
  status: JobStatus;
  total: number;
  counters: JobCounters;
  startedAt: string;
  updatedAt: string;
  runs: number;
  cursor: number;
  spentUsd: string;
  maxCostUsd: string | null;
  pauseReason: PauseReason | null;
  /** Batch mode: this run's provider batches (id, provider status, request counts, created and expiry times). */
  providerBatches?: ProviderBatchView[];
}

export interface PreAnnotationResult {
  status: 'completed' | 'cancelled';
  total: number;
  counters: JobCounters;
}

export const progressQuery = defineQuery<PreAnnotationProgress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const cancelSignal = defineSignal('cancel');
/** Sets (raises) the job's budget; a job paused for its budget resumes when spend < budget. */
export const setBudgetSignal = defineSignal<[{ maxCostUsd: string }]>('setBudget');

const db = proxyActivities<PreAnnotationActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
/**
 * Histories from before the `PROGRESS_AS_ACTIVITIES` patch recorded progress and status through
 * local activities, one scheduled in each batch's completion. A local activity draws its id from
 * the same sequence as the batches but is recorded only when it finishes, so once batches and
 * local activities overlapped, a replay (worker restart, cache eviction, query on a closed run)
 * could schedule the next batch under a different id: `[TMPRL1100] Activity id of scheduled
 * event does not match`. Those runs keep replaying the old way; new ones use only regular
 * activities, recorded when scheduled.
 */
const dbLocal = proxyLocalActivities<PreAnnotationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});
export const PROGRESS_AS_ACTIVITIES = 'pre-annotation-progress-as-activities';
export const PAUSE_RECORDED_AT_ONCE = 'pre-annotation-pause-recorded-at-once';

/**
 * Pre-annotates a job's items with an LLM engine, a batch per activity, keeping a bounded
 * number of batches in flight. Durable: a batch whose worker dies is retried and skips the
 * items it already wrote; the run continues as new every `batchesPerRun` batches.
 */
export async function preAnnotation(input: PreAnnotationInput): Promise<PreAnnotationResult> {
  const { jobId } = input;
  // Before any command: a run that began on older code replays without it (see dbLocal).
  const regularActivitiesOnly = patched(PROGRESS_AS_ACTIVITIES);
  const llm = proxyActivities<PreAnnotationActivities>({
    taskQueue: input.llmTaskQueue,
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
  });
  const statusActivities = regularActivitiesOnly ? db : dbLocal;

  // Handlers first, so a query or signal that arrives before the job has started is answered.
  let state: CarriedState = input.carried ?? {
    cursor: 0,
    total: 0,
    counters: ZERO_COUNTERS,
    startedAt: new Date().toISOString(),
    paused: false,
    runs: 0,
    spentUsd: '0',
    maxCostUsd: input.maxCostUsd ?? null,
  };
  let started = input.carried !== undefined;
  let cancelled = false;
  // Set once the job is recorded finished, so a query on the closed run says how it ended.
  let ended: PreAnnotationResult['status'] | null = null;
  let updatedAt = new Date().toISOString();
  const seqEnd = () => state.seqEnd ?? state.total;
  // Batch mode: a provider batch whose upper-bound cost did not fit the budget holds submissions.
  let batchBudgetHold: { atBudget: string | null } | null = null;
  const providerBatches = new Map<string, ProviderBatchView>();
  // Paused by a person, or by the budget while items remain (the last batches may overshoot it).
  const holdReason = (): PauseReason | null =>
    state.paused ? 'manual' : (budgetReached(state.spentUsd ?? '0', state.maxCostUsd) && state.cursor < seqEnd()) || batchBudgetHold ? 'budget' : null;
  const status = (): JobStatus => ended ?? (cancelled ? 'cancelled' : !started ? 'pending' : holdReason() ? 'paused' : 'running');

  setHandler(progressQuery, () => ({
    status: status(),
    total: state.total,
    counters: state.counters,
    startedAt: state.startedAt,
    updatedAt,
    runs: state.runs,
    cursor: state.cursor,
    spentUsd: state.spentUsd ?? '0',
    maxCostUsd: state.maxCostUsd ?? null,
    pauseReason: started && !cancelled && !ended ? holdReason() : null,
    ...(input.mode === 'batch' ? { providerBatches: [...providerBatches.values()] } : {}),
  }));
  setHandler(setBudgetSignal, ({ maxCostUsd }) => void (state.maxCostUsd = maxCostUsd));
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(cancelSignal, () => void (cancelled = true));

  if (!started) {
    if (input.retryRound) {
      const job = await db.prepareRetryFailed({ tenantId: input.tenantId, jobId, round: input.retryRound });
      state = { ...state, ...job, runs: 0 };
    } else {
      const job = await db.startPreAnnotationJob({ jobId });
      state = { ...state, total: job.total, startedAt: job.startedAt };
    }
    started = true;
  }

  const progressInput = () => ({
    tenantId: input.tenantId,
    projectId: input.projectId,
    jobId,
    total: state.total,
    counters: state.counters,
    status: status(),
    ...(input.retryRound ? { round: input.retryRound } : {}),
    ...(input.mode === 'batch' ? { mode: 'batch' as const } : {}),
  });
  // The job row and its job.progress events follow the counters through one regular activity
  // at a time; batches that finish meanwhile are folded into the next one.
  let progressDirty = false;
  let reporting: Promise<void> | null = null;
  const reportProgress = () => {
    progressDirty = true;
    reporting ??= (async () => {
      while (progressDirty) {
        progressDirty = false;
        const recorded = await db.recordPreAnnotationProgress(progressInput());
        noteSpend(recorded.spentUsd);
      }
      reporting = null;
    })();
  };
  // Spend only grows; reads that finish out of order must not move it back.
  const noteSpend = (spentUsd: string | undefined) => {
    if (spentUsd !== undefined && compareDecimals(spentUsd, state.spentUsd ?? '0') > 0) state.spentUsd = spentUsd;
  };

  const inFlight = new Map<number, Promise<void>>();
  const maxInFlight = batchesInFlight(input.concurrency, input.batchSize);
  const budgetWindow = Math.max(1, maxInFlight - 1);
  const windowSize = () => (state.maxCostUsd ? budgetWindow : maxInFlight);
  let batchesThisRun = 0;
  let recordedHold: PauseReason | null = null;

  const runBatch = (range: BatchRange) => {
    const p = llm
      .annotateBatch({
        tenantId: input.tenantId,
        projectId: input.projectId,
        jobId,
        engineId: input.engineId,
        fallbackEngineIds: input.fallbackEngineIds,
        concurrency: input.concurrency,
        instructions: input.instructions,
        ...range,
      })
      .then(async (batch) => {
        state.counters = addCounters(state.counters, batch); // the five counters; the spend is read below
        updatedAt = new Date().toISOString();
        if (regularActivitiesOnly) {
          noteSpend(batch.spentUsd);
          reportProgress();
        } else {
          const recorded = await dbLocal.recordPreAnnotationProgress(progressInput());
          // Histories from before budgets recorded no result here.
          if (recorded?.spentUsd !== undefined) state.spentUsd = recorded.spentUsd;
        }
        inFlight.delete(range.fromSeq);
      });
    inFlight.set(range.fromSeq, p);
  };

  const runShouldRollOver = () =>
    batchesThisRun >= input.batchesPerRun || workflowInfo().continueAsNewSuggested;

  if (input.mode === 'batch' && input.providerBatch) {
    await runBatchMode({
      tenantId: input.tenantId,
      projectId: input.projectId,
      jobId,
      engineId: input.engineId,
      fallbackEngineIds: input.fallbackEngineIds,
      concurrency: input.concurrency,
      instructions: input.instructions,
      llmTaskQueue: input.llmTaskQueue,
      batchesPerRun: input.batchesPerRun,
      settings: input.providerBatch,
      annotateBatch: llm.annotateBatch,
      cursor: () => state.cursor,
      advance: (toSeq) => void (state.cursor = toSeq),
      seqEnd,
      addCounters: (delta) => {
        state.counters = addCounters(state.counters, delta);
        updatedAt = new Date().toISOString();
      },
      noteSpend,
      reportProgress,
      cancelled: () => cancelled,
      paused: () => state.paused,
      maxCostUsd: () => state.maxCostUsd ?? null,
      setBudgetHold: (hold) => void (batchBudgetHold = hold),
      budgetHold: () => batchBudgetHold,
      syncStatus: async () => {
        const hold = cancelled ? null : holdReason();
        if (hold === recordedHold) return;
        await db.setPreAnnotationStatus(
          hold
            ? { tenantId: input.tenantId, jobId, status: 'paused', ...(hold === 'budget' ? { reason: hold, projectId: input.projectId, spentUsd: state.spentUsd, maxCostUsd: state.maxCostUsd ?? undefined } : {}) }
            : { tenantId: input.tenantId, jobId, status: 'running' },
        );
        recordedHold = hold;
      },
      batches: providerBatches,
    });
  } else {
    while (!cancelled) {
      const hold = holdReason();
      if (hold) {
        // A manual pause is recorded at once, so the job row (what GET progress falls back to when
        // the live query cannot be answered) says `paused` as soon as the query does.
        if (hold === 'manual' && recordedHold !== hold && patched(PAUSE_RECORDED_AT_ONCE)) {
          await statusActivities.setPreAnnotationStatus({ tenantId: input.tenantId, jobId, status: 'paused' });
          recordedHold = hold;
        }
        // Let running batches finish, record the pause, then wait for resume, a budget or cancel.
        await Promise.all(inFlight.values());
        // The finishing batches may settle a budget hold (the last items were among them).
        if (hold === 'budget' && holdReason() !== hold) continue;
        if (recordedHold !== hold) {
          await statusActivities.setPreAnnotationStatus({
            tenantId: input.tenantId,
            jobId,
            status: 'paused',
            ...(hold === 'budget'
              ? { reason: hold, projectId: input.projectId, spentUsd: state.spentUsd, maxCostUsd: state.maxCostUsd ?? undefined }
              : {}),
          });
          recordedHold = hold;
        }
        await condition(() => holdReason() !== hold || cancelled);
        continue;
      }
      if (recordedHold) {
        await statusActivities.setPreAnnotationStatus({ tenantId: input.tenantId, jobId, status: 'running' });
        recordedHold = null;
      }
      const range = runShouldRollOver() ? null : nextBatch(state.cursor, seqEnd(), input.batchSize);
      if (range && inFlight.size < windowSize()) {
        runBatch(range);
        state.cursor = range.toSeq;
        batchesThisRun++;
        continue;
      }
      if (inFlight.size === 0) break; // nothing left to start and nothing running
      await Promise.race(inFlight.values());
    }
    await Promise.all(inFlight.values());
  }
  await reporting;

  if (!cancelled && state.cursor < seqEnd()) {
    // This run did its share: start a fresh run (small history) carrying the cursor.
    await continueAsNew<typeof preAnnotation>({ ...input, carried: { ...state, runs: state.runs + 1 } });
  }

  const finalStatus = cancelled ? 'cancelled' : 'completed';
  if (!cancelled && patched('low-confidence-review-tasks')) {
    // Items below the low-confidence threshold become review tasks of bounded size, each a
    // reviewAssignment workflow; task ids derive from the job, so a retry duplicates nothing.
    await proxyActivities<TaskActivities>({ startToCloseTimeout: '10 minutes', heartbeatTimeout: '1 minute' }).createLowConfidenceReviewTasks({
      tenantId: input.tenantId,
      projectId: input.projectId,
      jobId,
      ...(input.retryRound ? { round: input.retryRound } : {}),
    });
  }
  await db.finishPreAnnotationJob({
    tenantId: input.tenantId,
    projectId: input.projectId,
    jobId,
    status: finalStatus,
    total: state.total,
    counters: state.counters,
  });
  ended = finalStatus;
  return { status: finalStatus, total: state.total, counters: state.counters };
}
