import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/** A workflow task that failed this many times in a row is not a passing hiccup (a worker restart). */
export const STALLED_AFTER_ATTEMPTS = 3;

export interface Stall {
  /** The last workflow task failure, e.g. "[TMPRL1100] Nondeterminism error: …". */
  message: string;
  /** Attempts of the pending workflow task so far. */
  attempts: number;
}

/**
 * Whether a running workflow is stuck: its workflow task keeps failing (nondeterminism, a
 * workflow bug, a missing workflow type), so Temporal retries it forever and the job never moves.
 * Read from DescribeWorkflowExecution (the pending task's attempt) and the newest
 * WorkflowTaskFailed event of its history. Null when it is healthy, closed or unreadable.
 */
export async function stallOf(client: Client, workflowId: string): Promise<Stall | null> {
  try {
    const description = await client.withDeadline(Date.now() + 3000, () => client.workflow.getHandle(workflowId).describe());
    if (description.status.name !== 'RUNNING') return null;
    const attempts = description.raw.pendingWorkflowTask?.attempt ?? 0;
    if (attempts < STALLED_AFTER_ATTEMPTS) return null;
    const { history } = await client.withDeadline(Date.now() + 3000, () =>
      client.workflowService.getWorkflowExecutionHistoryReverse({
        namespace: client.options.namespace,
        execution: { workflowId, runId: description.runId },
        maximumPageSize: 50,
      }),
    );
    const failed = history?.events?.find((e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
    const message = failed?.workflowTaskFailedEventAttributes?.failure?.message ?? 'its workflow task keeps failing';
    return { message, attempts };
  } catch {
    return null;
  }
}
