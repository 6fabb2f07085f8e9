import { Context } from '@temporalio/activity';

/**
 * The run id of the workflow that scheduled the current activity: the live run of a
 * continue-as-new chain, which the job row records (`run_id`, the Temporal UI link).
 * Undefined when called outside an activity (tests calling the functions directly).
 */
export function schedulingRunId(): string | undefined {
  try {
    return Context.current().info.workflowExecution?.runId;
  } catch {
    return undefined;
  }
}
