import { ApplicationFailure, allHandlersFinished, condition, defineQuery, defineUpdate, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { ConflictActivities } from '../activities/conflicts';
import type { TaskActivities } from '../activities/tasks';
import type { ConflictDecision } from '../src/annotation/conflict-decisions';
import { labelValueProblem } from '../src/annotation/label-value';
import type { AnnotationValue, LabelSchema } from '../src/llm/types';
import { TaskAssignment, waitReassignEscalate } from './assignment-loop';
import { REJECTIONS } from './review-assignment';

export interface ConflictResolutionInput {
  tenantId: string;
  projectId: string;
  conflictId: string;
  itemId: string;
  labelSchema: LabelSchema;
  /** Automatic resolution needs at least this margin (see src/annotation/conflict-rules.ts). */
  minMargin: number;
  /** Items with ≥ 2 human annotations before Dawid–Skene may replace majority vote (decided when validation opens the conflict). */
  dsMinItems: number;
  /** The expert task: its id, deadline per assignment, and reassignments before escalation. */
  expertTaskId: string;
  expertDueInSeconds: number | null;
  maxReassignments: number;
  /**
   * The automatic decision computed when the conflict was opened (validation: one model fit per
   * run), applied if the item's inputs are still the ones it was computed on. Absent (a /submit,
   * the sweep, runs started before it existed): the activity decides from the item's own ratings.
   */
  suggestion?: ConflictSuggestion;
}

export type ConflictSuggestion = ConflictDecision;

export interface ResolveArgs {
  userId: string;
  isManager: boolean;
  value: AnnotationValue;
  reason?: string | null;
}

export interface ConflictStatus {
  conflictId: string;
  status: 'open' | 'auto_resolved' | 'resolved';
  method: string | null;
  expertTaskId: string | null;
  assigneeId: string | null;
  dueAt: string | null;
  escalated: boolean;
  attempts: number;
}

export const resolveUpdate = defineUpdate<ConflictStatus, [ResolveArgs]>('resolve');
export const conflictStatusQuery = defineQuery<ConflictStatus>('status');

const acts = proxyActivities<ConflictActivities & TaskActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

/**
 * One conflict (one item whose human annotations disagree). Automatic resolution first; if the
 * margin is too small, an expert task with a deadline: reassigned to another manager/expert on a
 * missed deadline up to `maxReassignments` times, then escalated (any manager may resolve, no
 * deadline). The expert answers through the update `resolve`. The expert task runs the loop of
 * ./assignment-loop.ts, the same as a review task's.
 */
export async function conflictResolution(input: ConflictResolutionInput): Promise<ConflictStatus> {
  let status: ConflictStatus['status'] = 'open';
  let method: string | null = null;
  let expertTaskId: string | null = null;
  let resolving = false;
  const assignment = new TaskAssignment(
    {
      tenantId: input.tenantId,
      projectId: input.projectId,
      taskId: input.expertTaskId,
      kind: 'expert',
      strategy: 'least_loaded',
      dueInSeconds: input.expertDueInSeconds,
      maxReassignments: input.maxReassignments,
      noOtherAssigneeReason: 'deadline: no other expert',
    },
    acts.assignTask,
  );

  const view = (): ConflictStatus => ({
    conflictId: input.conflictId,
    status,
    method,
    expertTaskId,
    assigneeId: assignment.assigneeId,
    dueAt: assignment.dueAt,
    escalated: assignment.escalated,
    attempts: assignment.attempts,
  });

  function check(args: ResolveArgs) {
    if (status !== 'open' || resolving) throw ApplicationFailure.nonRetryable(`The conflict is already ${status === 'open' ? 'being resolved' : status}`, REJECTIONS.alreadyDecided);
    if (!args.isManager && (assignment.assigneeId === null || args.userId !== assignment.assigneeId)) {
      throw ApplicationFailure.nonRetryable('Only the assigned expert or a manager may resolve this conflict', REJECTIONS.notAssignee);
    }
    const problem = labelValueProblem(input.labelSchema, args.value);
    if (problem) throw ApplicationFailure.nonRetryable(problem, REJECTIONS.invalidValue);
  }

  setHandler(conflictStatusQuery, view);
  setHandler(
    resolveUpdate,
    async (args) => {
      check(args);
      resolving = true;
      try {
        await acts.resolveConflict({
          tenantId: input.tenantId,
          projectId: input.projectId,
          conflictId: input.conflictId,
          taskId: expertTaskId,
          userId: args.userId,
          value: args.value,
          reason: args.reason ?? null,
        });
        status = 'resolved';
        method = 'expert';
        return view();
      } finally {
        resolving = false;
      }
    },
    { validator: check },
  );

  const auto = await acts.autoResolveConflict({
    tenantId: input.tenantId,
    projectId: input.projectId,
    conflictId: input.conflictId,
    itemId: input.itemId,
    labelSchema: input.labelSchema,
    minMargin: input.minMargin,
    dsMinItems: input.dsMinItems,
    // An argument, not a command: runs recorded before it replay unchanged.
    ...(input.suggestion ? { suggestion: input.suggestion } : {}),
  });
  if (auto.applied) {
    status = 'auto_resolved';
    method = auto.method;
  }
  await condition(() => !resolving);

  if (status === 'open') {
    await acts.ensureExpertTask({
      tenantId: input.tenantId,
      projectId: input.projectId,
      conflictId: input.conflictId,
      itemId: input.itemId,
      taskId: input.expertTaskId,
      workflowId: workflowInfo().workflowId,
      dueInSeconds: input.expertDueInSeconds,
    });
    expertTaskId = input.expertTaskId;
    await assignment.assign({ exclude: [], escalate: false, reason: `conflict: ${auto.method} margin ${auto.margin.toFixed(3)} below ${input.minMargin}` });
    await waitReassignEscalate(assignment, {
      finished: () => status !== 'open',
      decisionInFlight: () => resolving,
      stillUndecided: () => status === 'open',
    });
  }
  await condition(allHandlersFinished);
  return view();
}
