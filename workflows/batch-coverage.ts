import { continueAsNew, defineQuery, defineSignal, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { BatchCoverageActivities } from '../activities/batch-coverage';
import type { JobCounters, JobStatus } from '../src/annotation/job-progress';
import type { AnnotationValue } from '../src/llm/types';

export interface BatchCoverageInput {
  tenantId: string;
  projectId: string;
  jobId: string;
  sourceItemId: string;
  value: AnnotationValue;
  /** In [0, 1]: pg_trgm similarity at or above it is a match. */
  similarityThreshold: number;
  /** At most this many suggestions (first matches in the project's item order). */
  maxItems: number;
  /** Items per page (one activity each). */
  pageSize: number;
  /** Pages one run scans before continuing as new. */
  pagesPerRun: number;
  /** Carried across continue-as-new; absent on the first run. */
  carried?: BatchCoverageState;
}

export interface BatchCoverageState {
  cursor: number;
  maxSeq: number;
  total: number;
  scanned: number;
  matched: number;
  suggested: number;
  skippedHuman: number;
  startedAt: string;
  runs: number;
}

/** The `progress` query; the same core shape as pre-annotation's, so job views read either. */
export interface BatchCoverageProgress {
  status: JobStatus;
  total: number;
  counters: JobCounters;
  startedAt: string;
  updatedAt: string;
  runs: number;
  cursor: number;
  matched: number;
  suggested: number;
  skippedHuman: number;
}

export interface BatchCoverageResult {
  status: 'completed' | 'cancelled';
  scanned: number;
  matched: number;
  suggested: number;
  skippedHuman: number;
}

export const batchCoverageProgressQuery = defineQuery<BatchCoverageProgress>('progress');
export const batchCoverageCancelSignal = defineSignal('cancel');

const db = proxyActivities<BatchCoverageActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});
const dbLocal = proxyLocalActivities<BatchCoverageActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '10 seconds' },
});

/** Progress counters of a coverage job: processed = items scanned, succeeded = needs_review = suggestions. */
function countersOf(s: BatchCoverageState): JobCounters {
  return { processed: s.scanned, succeeded: s.suggested, failed: 0, auto_accepted: 0, needs_review: s.suggested };
}

/**
 * Finds the project's items whose text is similar (trigram similarity) to the source item's
 * and records `value` as a suggestion for each, a page of items per activity, continuing as
 * new every `pagesPerRun` pages. Stops at the end of the items or at `maxItems` suggestions.
 */
export async function batchCoverage(input: BatchCoverageInput): Promise<BatchCoverageResult> {
  const { tenantId, projectId, jobId } = input;
  let state: BatchCoverageState = input.carried ?? {
    cursor: 0,
    maxSeq: 0,
    total: 0,
    scanned: 0,
    matched: 0,
    suggested: 0,
    skippedHuman: 0,
    startedAt: new Date().toISOString(),
    runs: 0,
  };
  let started = input.carried !== undefined;
  let cancelled = false;
  let updatedAt = new Date().toISOString();
  const status = (): JobStatus => (cancelled ? 'cancelled' : started ? 'running' : 'pending');

  setHandler(batchCoverageProgressQuery, () => ({
    status: status(),
    total: state.total,
    counters: countersOf(state),
    startedAt: state.startedAt,
    updatedAt,
    runs: state.runs,
    cursor: state.cursor,
    matched: state.matched,
    suggested: state.suggested,
    skippedHuman: state.skippedHuman,
  }));
  setHandler(batchCoverageCancelSignal, () => void (cancelled = true));

  if (!started) {
    const job = await db.startBatchCoverageJob({ tenantId, projectId, jobId, sourceItemId: input.sourceItemId });
    state = { ...state, total: job.total, maxSeq: job.maxSeq, startedAt: job.startedAt };
    started = true;
  }

  let pagesThisRun = 0;
  let exhausted = state.cursor >= state.maxSeq;
  while (!cancelled && !exhausted) {
    if (state.suggested >= input.maxItems) break;
    if (pagesThisRun >= input.pagesPerRun || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof batchCoverage>({ ...input, carried: { ...state, runs: state.runs + 1 } });
    }
    const page = await db.coverPage({
      tenantId,
      projectId,
      jobId,
      sourceItemId: input.sourceItemId,
      value: input.value,
      similarityThreshold: input.similarityThreshold,
      afterSeq: state.cursor,
      maxSeq: state.maxSeq,
      pageSize: input.pageSize,
      limit: input.maxItems - state.suggested,
    });
    pagesThisRun++;
    exhausted = page.exhausted;
    state = {
      ...state,
      cursor: page.lastSeq,
      scanned: state.scanned + page.scanned,
      matched: state.matched + page.matched,
      suggested: state.suggested + page.suggested,
      skippedHuman: state.skippedHuman + page.skippedHuman,
    };
    updatedAt = new Date().toISOString();
    await dbLocal.recordBatchCoverageProgress({
      tenantId,
      projectId,
      jobId,
      total: state.total,
      counters: countersOf(state),
      matched: state.matched,
      skippedHuman: state.skippedHuman,
      status: status(),
    });
  }
  const stoppedBy = cancelled ? 'cancelled' : state.suggested >= input.maxItems ? 'max_items' : 'end_of_items';

  const finalStatus = cancelled ? 'cancelled' : 'completed';
  await db.finishBatchCoverageJob({
    tenantId,
    projectId,
    jobId,
    total: state.total,
    counters: countersOf(state),
    matched: state.matched,
    skippedHuman: state.skippedHuman,
    status: finalStatus,
    stoppedBy,
  });
  return { status: finalStatus, scanned: state.scanned, matched: state.matched, suggested: state.suggested, skippedHuman: state.skippedHuman };
}
