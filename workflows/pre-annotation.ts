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
import { batchesInFlight, nextBatch, type BatchRange } from '../src/annotation/batching';
import { addCounters, ZERO_COUNTERS, type JobCounters, type JobStatus } from '../src/annotation/job-progress';

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
  /** Carried across continue-as-new; absent on the first run. */
  carried?: CarriedState;
}

export interface CarriedState {
  cursor: number;
  total: number;
  counters: JobCounters;
  startedAt: string;
  paused: boolean;
  runs: number;
}

export interface PreAnnotationProgress {
  status: JobStatus;
  total: number;
  counters: JobCounters;
  startedAt: string;
  updatedAt: string;
  runs: number;
  cursor: number;
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

const db = proxyActivities<PreAnnotationActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
const dbLocal = proxyLocalActivities<PreAnnotationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});

/**
 * Pre-annotates a job's items with an LLM engine, a batch per activity, keeping a bounded
 * number of batches in flight. Durable: a batch whose worker dies is retried and skips the
 * items it already wrote; the run continues as new every `batchesPerRun` batches.
 */
export async function preAnnotation(input: PreAnnotationInput): Promise<PreAnnotationResult> {
  const { jobId } = input;
  const llm = proxyActivities<PreAnnotationActivities>({
    taskQueue: input.llmTaskQueue,
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds} seconds`,
    retry: { initialInterval: '1 second', maximumInterval: '1 minute' },
  });

  // Handlers first, so a query or signal that arrives before the job has started is answered.
  let state: CarriedState = input.carried ?? {
    cursor: 0,
    total: 0,
    counters: ZERO_COUNTERS,
    startedAt: new Date().toISOString(),
    paused: false,
    runs: 0,
  };
  let started = input.carried !== undefined;
  let cancelled = false;
  let updatedAt = new Date().toISOString();
  const status = (): JobStatus => (cancelled ? 'cancelled' : !started ? 'pending' : state.paused ? 'paused' : 'running');

  setHandler(progressQuery, () => ({
    status: status(),
    total: state.total,
    counters: state.counters,
    startedAt: state.startedAt,
    updatedAt,
    runs: state.runs,
    cursor: state.cursor,
  }));
  setHandler(pauseSignal, () => void (state.paused = true));
  setHandler(resumeSignal, () => void (state.paused = false));
  setHandler(cancelSignal, () => void (cancelled = true));

  if (!started) {
    const job = await db.startPreAnnotationJob({ jobId });
    state = { ...state, total: job.total, startedAt: job.startedAt };
    started = true;
  }

  const inFlight = new Map<number, Promise<void>>();
  const maxInFlight = batchesInFlight(input.concurrency, input.batchSize);
  let batchesThisRun = 0;
  let pausedRecorded = false;

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
        state.counters = addCounters(state.counters, batch);
        updatedAt = new Date().toISOString();
        await dbLocal.recordPreAnnotationProgress({
          tenantId: input.tenantId,
          projectId: input.projectId,
          jobId,
          total: state.total,
          counters: state.counters,
          status: status(),
        });
        inFlight.delete(range.fromSeq);
      });
    inFlight.set(range.fromSeq, p);
  };

  const runShouldRollOver = () =>
    batchesThisRun >= input.batchesPerRun || workflowInfo().continueAsNewSuggested;

  while (!cancelled) {
    if (state.paused) {
      // Let running batches finish, record the pause, then wait for resume or cancel.
      await Promise.all(inFlight.values());
      if (!pausedRecorded) {
        await dbLocal.setPreAnnotationStatus({ tenantId: input.tenantId, jobId, status: 'paused' });
        pausedRecorded = true;
      }
      await condition(() => !state.paused || cancelled);
      if (cancelled) break;
      await dbLocal.setPreAnnotationStatus({ tenantId: input.tenantId, jobId, status: 'running' });
      pausedRecorded = false;
      continue;
    }
    const range = runShouldRollOver() ? null : nextBatch(state.cursor, state.total, input.batchSize);
    if (range && inFlight.size < maxInFlight) {
      runBatch(range);
      state.cursor = range.toSeq;
      batchesThisRun++;
      continue;
    }
    if (inFlight.size === 0) break; // nothing left to start and nothing running
    await Promise.race(inFlight.values());
  }
  await Promise.all(inFlight.values());

  if (!cancelled && state.cursor < state.total) {
    // This run did its share: start a fresh run (small history) carrying the cursor.
    await continueAsNew<typeof preAnnotation>({ ...input, carried: { ...state, runs: state.runs + 1 } });
  }

  const finalStatus = cancelled ? 'cancelled' : 'completed';
  await db.finishPreAnnotationJob({
    tenantId: input.tenantId,
    projectId: input.projectId,
    jobId,
    status: finalStatus,
    total: state.total,
    counters: state.counters,
  });
  return { status: finalStatus, total: state.total, counters: state.counters };
}
