import { condition, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { AnnotateBatchInput, PreAnnotationActivities } from '../activities/pre-annotation';
import type { ProviderBatchActivities, ProviderBatchView } from '../activities/provider-batches';
import { addCounters, ZERO_COUNTERS, type JobCounters } from '../src/annotation/job-progress';
import { nextBatch } from '../src/annotation/batching';
import { pollDelayMs, subtractCounters, type ProviderBatchSettings } from '../src/annotation/provider-batching';

/**
 * Batch mode of preAnnotation: each chunk of the job's items goes to the provider's batch API
 * (submit → wait on durable timers with a polling backoff → collect), its failed items to a new
 * batch (or synchronously when few remain), with a bounded number of provider batches waiting at
 * once. No activity stays open while the provider works: each poll is one short activity.
 * Called only for runs whose input says `mode: 'batch'`, so sync histories replay unchanged.
 */
export interface BatchModeRun extends Pick<AnnotateBatchInput, 'tenantId' | 'projectId' | 'jobId' | 'engineId' | 'fallbackEngineIds' | 'concurrency' | 'instructions'> {
  llmTaskQueue: string;
  batchesPerRun: number;
  settings: ProviderBatchSettings;
  /** The sync path's batch activity (retries of few items; a chunk whose submission keeps failing). */
  annotateBatch: PreAnnotationActivities['annotateBatch'];
  /** The workflow's live state, shared with its handlers. */
  cursor(): number;
  /** Sets the cursor: the chunks up to here are started. */
  advance(toSeq: number): void;
  seqEnd(): number;
  addCounters(delta: JobCounters): void;
  noteSpend(spentUsd: string | undefined): void;
  reportProgress(): void;
  cancelled(): boolean;
  paused(): boolean;
  maxCostUsd(): string | null;
  /** A budget refusal holds new submissions until the budget changes; null lifts it. */
  setBudgetHold(hold: { atBudget: string | null } | null): void;
  budgetHold(): { atBudget: string | null } | null;
  /** Records the pause (manual or budget) and the return to running, once each. */
  syncStatus(): Promise<void>;
  /** The provider batches progress lists, by row id. */
  batches: Map<string, ProviderBatchView>;
}

export async function runBatchMode(run: BatchModeRun): Promise<void> {
  // A provider that keeps refusing a submission: the chunk goes the sync way instead.
  const submit = proxyActivities<ProviderBatchActivities>({
    taskQueue: run.llmTaskQueue,
    startToCloseTimeout: '10 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 8 },
  });
  // A submitted batch is waited for through any outage of the provider's API: polls, cancel and
  // collect retry without limit (each attempt short, backing off to minutes).
  const pb = proxyActivities<ProviderBatchActivities>({
    taskQueue: run.llmTaskQueue,
    startToCloseTimeout: '10 minutes',
    retry: { initialInterval: '1 second', maximumInterval: '5 minutes' },
  });
  const base = { tenantId: run.tenantId, projectId: run.projectId, jobId: run.jobId };
  const chunks = new Map<number, Promise<void>>();
  // Where each started chunk really ends, once its first submission says (a provider's limits may cut it short).
  const planned = new Map<number, number>();
  let chunksThisRun = 0;

  const holdNewBatches = () => run.paused() || run.budgetHold() !== null;
  const budgetChanged = (atBudget: string | null) => run.maxCostUsd() !== atBudget;

  const sync = async (fromSeq: number, toSeq: number, counted: JobCounters): Promise<JobCounters> => {
    const batch = await run.annotateBatch({ ...base, engineId: run.engineId, fallbackEngineIds: run.fallbackEngineIds, concurrency: run.concurrency, instructions: run.instructions, fromSeq, toSeq });
    const { spentUsd, ...counters } = batch;
    run.addCounters(subtractCounters(counters, counted));
    run.noteSpend(spentUsd);
    run.reportProgress();
    return counters;
  };

  const waitUntilEnded = async (view: ProviderBatchView): Promise<ProviderBatchView> => {
    let cancelSent = false;
    for (let n = 0; !view.ended; n++) {
      if (run.cancelled() && !cancelSent) {
        view = await pb.cancelProviderBatch({ tenantId: run.tenantId, rowId: view.rowId });
        run.batches.set(view.rowId, view);
        cancelSent = true;
        continue;
      }
      // A durable timer; a cancel cuts the wait short so the provider batch is cancelled at once.
      await condition(() => run.cancelled() && !cancelSent, pollDelayMs(cancelSent ? 0 : n, run.settings));
      view = await pb.pollProviderBatch({ tenantId: run.tenantId, rowId: view.rowId });
      run.batches.set(view.rowId, view);
    }
    return view;
  };

  const runChunk = async (fromSeq: number, toSeq: number): Promise<void> => {
    let end = toSeq;
    let counted: JobCounters = ZERO_COUNTERS;
    for (let attempt = 0; attempt <= run.settings.retries; attempt++) {
      // A retry is a new provider batch: none while paused or held by the budget.
      if (attempt > 0) await condition(() => run.cancelled() || !holdNewBatches());
      if (run.cancelled()) return;
      let submitted;
      try {
        submitted = await submit.submitProviderBatch({ ...base, engineId: run.engineId, instructions: run.instructions, fromSeq, toSeq: end, attempt, maxCostUsd: run.maxCostUsd() });
      } catch {
        planned.set(fromSeq, end);
        await pb.abandonProviderBatch({ tenantId: run.tenantId, jobId: run.jobId, fromSeq, attempt });
        await sync(fromSeq, end, counted);
        return;
      }
      end = submitted.kind === 'submitted' ? submitted.batch.toSeq : submitted.toSeq;
      if (attempt === 0) planned.set(fromSeq, end);
      if (submitted.kind === 'budget') {
        const atBudget = run.maxCostUsd();
        run.setBudgetHold({ atBudget });
        await condition(() => run.cancelled() || budgetChanged(atBudget));
        run.setBudgetHold(null);
        attempt--; // the same attempt, once the budget allows it
        continue;
      }
      if (submitted.kind === 'nothing') return;
      run.batches.set(submitted.batch.rowId, submitted.batch);
      run.reportProgress();
      await waitUntilEnded(submitted.batch);
      // After a cancel, what the batch answered is kept and nothing more is asked (as in sync mode,
      // unasked items stay without an annotation).
      const finalAttempt = attempt === run.settings.retries && !run.cancelled();
      const collected = await pb.collectProviderBatch({ ...base, rowId: submitted.batch.rowId, finalAttempt });
      run.addCounters(subtractCounters(collected.counters, counted));
      counted = collected.counters;
      run.noteSpend(collected.spentUsd);
      run.reportProgress();
      if (collected.remaining === 0 || finalAttempt || run.cancelled()) return;
      if (collected.remaining <= run.settings.syncRetryBelow) {
        await sync(fromSeq, end, counted);
        return;
      }
    }
  };

  for (;;) {
    await run.syncStatus();
    if (run.cancelled()) break;
    const rollOver = chunksThisRun >= run.batchesPerRun || workflowInfo().continueAsNewSuggested;
    const range = rollOver ? null : nextBatch(run.cursor(), run.seqEnd(), run.settings.chunkSize);
    if (range && !holdNewBatches() && chunks.size < run.settings.inFlight) {
      const chunk = runChunk(range.fromSeq, range.toSeq).finally(() => chunks.delete(range.fromSeq));
      chunks.set(range.fromSeq, chunk);
      run.advance(range.toSeq);
      chunksThisRun++;
      // Let the chunk submit before the next one is planned: a provider's limits may cut it short.
      await condition(() => planned.has(range.fromSeq) || !chunks.has(range.fromSeq));
      const cut = planned.get(range.fromSeq);
      if (cut !== undefined && cut < range.toSeq) run.advance(cut);
      planned.delete(range.fromSeq);
      continue;
    }
    if (!chunks.size && !range) break; // nothing left to start and nothing waiting
    const n = chunks.size;
    const held = holdNewBatches();
    // Wait for a chunk to end, a hold to change (pause, resume, budget) or cancel.
    await condition(() => chunks.size !== n || holdNewBatches() !== held || run.cancelled());
  }
  await Promise.all(chunks.values());
}
