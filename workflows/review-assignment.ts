import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { DecisionConflict, TaskActivities } from '../activities/tasks';
import type { AssignmentStrategy, TaskKind, TaskStatus } from '../src/annotation/assignment';
import { labelValueProblem } from '../src/annotation/label-value';
import type { LabelSchema } from '../src/llm/types';
import { TaskAssignment, waitReassignEscalate } from './assignment-loop';

export interface ReviewAssignmentInput {
  tenantId: string;
  projectId: string;
  taskId: string;
  kind: TaskKind;
  itemIds: string[];
  strategy: AssignmentStrategy;
  /** An explicit first assignee; otherwise the strategy picks among eligible members. */
  assigneeId?: string | null;
  /** Deadline of each assignment; null: no deadline. */
  dueInSeconds: number | null;
  /** Reassignments after a missed deadline before the task escalates to a manager. */
  maxReassignments: number;
  labelSchema: LabelSchema;
}

export const REVIEW_DECISIONS = ['approve', 'reject', 'modify', 'submit'] as const;
export type ReviewDecision = (typeof REVIEW_DECISIONS)[number];

export interface SubmitReviewArgs {
  userId: string;
  /** A manager (or admin) may decide any task of the project. */
  isManager: boolean;
  decision: ReviewDecision;
  value?: unknown;
  /** The items decided; default every item still undecided. */
  itemIds?: string[];
  leadTimeMs?: number;
}

export interface ReviewVerdict {
  accepted: true;
  taskId: string;
  decision: ReviewDecision;
  itemIds: string[];
  annotationIds: Record<string, string>;
  decidedBy: string;
  /** Items of the task still without a decision. */
  remaining: number;
  /** The decided items' open conflicts, opened by the activity that wrote the annotations. */
  conflicts: DecisionConflict[];
}

export interface ReviewStatus {
  taskId: string;
  status: TaskStatus | 'pending';
  assigneeId: string | null;
  dueAt: string | null;
  attempts: number;
  reassignments: number;
  assignees: string[];
  claimed: boolean;
  decided: number;
  total: number;
}

/** Rejection reasons of `submitReview` (ApplicationFailure types); the API maps them to 403/409/422. */
export const REJECTIONS = {
  notAssignee: 'NotAssignee',
  alreadyDecided: 'AlreadyDecided',
  closed: 'TaskClosed',
  invalidValue: 'InvalidValue',
  invalidItem: 'InvalidItem',
} as const;

export const submitReviewUpdate = defineUpdate<ReviewVerdict, [SubmitReviewArgs]>('submitReview');
/** Resolves once the first assignment is made: the API answers with the assignee and deadline. */
export const awaitAssignmentUpdate = defineUpdate<ReviewStatus, []>('awaitAssignment');
export const claimSignal = defineSignal<[{ userId: string }]>('claim');
export const releaseSignal = defineSignal<[{ userId: string }]>('release');
export const reassignSignal = defineSignal<[{ byUserId: string; assigneeId?: string | null }]>('reassign');
/** Closes the task without a decision (status `cancelled`); items already decided keep their annotations. */
export const cancelSignal = defineSignal<[{ byUserId: string; reason?: string | null }]>('cancel');
export const statusQuery = defineQuery<ReviewStatus>('status');

const acts = proxyActivities<TaskActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds' },
});

type Action = { type: 'claim'; userId: string } | { type: 'release'; userId: string } | { type: 'reassign'; byUserId: string; assigneeId?: string | null };

/**
 * A human task: assigns it (strategy or explicit), waits for the decision (update
 * `submitReview`) with a deadline, reassigns on a missed deadline up to `maxReassignments`
 * times, then escalates to a manager and waits without a deadline (the loop of
 * ./assignment-loop.ts, shared with conflictResolution's expert task). The workflow is the single
 * owner of the decision: the first decision of an item wins, any later one is rejected.
 */
export async function reviewAssignment(input: ReviewAssignmentInput): Promise<ReviewStatus> {
  const { taskId } = input;
  /** `completed` / `cancelled` once closed; until then the assignment's own status. */
  let closedStatus: TaskStatus | null = null;
  let claimed = false;
  const decided = new Map<string, string>(); // item → decided by
  const pending = new Set<string>(); // items whose decision is being recorded
  const actions: Action[] = [];
  const items = new Set(input.itemIds);
  let cancelledBy: { byUserId: string; reason: string | null } | null = null;
  // The assignee who released the task, until the next assignment: their decisions are refused
  // from the moment the release arrives, not only once the reassignment activity has run.
  let releasedBy: string | null = null;

  const assignment = new TaskAssignment(
    {
      tenantId: input.tenantId,
      projectId: input.projectId,
      taskId,
      kind: input.kind,
      strategy: input.strategy,
      dueInSeconds: input.dueInSeconds,
      maxReassignments: input.maxReassignments,
      noOtherAssigneeReason: 'deadline: no other eligible member',
    },
    acts.assignTask,
    () => {
      releasedBy = null;
      claimed = false;
    },
  );
  const status = (): ReviewStatus['status'] => closedStatus ?? assignment.status;

  const view = (): ReviewStatus => ({
    taskId,
    status: status(),
    assigneeId: assignment.assigneeId,
    dueAt: assignment.dueAt,
    attempts: assignment.attempts,
    reassignments: assignment.reassignments,
    assignees: [...assignment.assignees],
    claimed,
    decided: decided.size,
    total: items.size,
  });
  const allDecided = () => decided.size >= items.size;

  /**
   * `validating`: the update's validator, which alone refuses a releasing assignee. The handler
   * re-checks without that rule, so histories that accepted such a decision replay unchanged
   * (validators do not run on replay): no patch needed.
   */
  function check(args: SubmitReviewArgs, validating = false): string[] {
    if (closedStatus !== null || cancelledBy !== null) throw ApplicationFailure.nonRetryable('The task is already closed', REJECTIONS.closed);
    if (!args.isManager && args.userId !== assignment.assigneeId) {
      throw ApplicationFailure.nonRetryable('Only the assignee or a manager may decide this task', REJECTIONS.notAssignee);
    }
    if (validating && !args.isManager && args.userId === releasedBy) {
      throw ApplicationFailure.nonRetryable('You released this task; it is being reassigned', REJECTIONS.notAssignee);
    }
    const targets = args.itemIds?.length ? [...new Set(args.itemIds)] : input.itemIds.filter((id) => !decided.has(id) && !pending.has(id));
    const foreign = targets.filter((id) => !items.has(id));
    if (foreign.length) throw ApplicationFailure.nonRetryable(`Items not in this task: ${foreign.join(', ')}`, REJECTIONS.invalidItem);
    if (!targets.length || targets.some((id) => decided.has(id) || pending.has(id))) {
      throw ApplicationFailure.nonRetryable('Already decided', REJECTIONS.alreadyDecided);
    }
    const needsValue = args.decision === 'modify' || args.decision === 'submit';
    if (needsValue && args.value === undefined) throw ApplicationFailure.nonRetryable(`A ${args.decision} needs a value`, REJECTIONS.invalidValue);
    if (args.value !== undefined && args.value !== null) {
      const problem = labelValueProblem(input.labelSchema, args.value);
      if (problem) throw ApplicationFailure.nonRetryable(problem, REJECTIONS.invalidValue);
    }
    return targets;
  }

  // Handlers first, so anything that arrives before the first assignment is answered.
  setHandler(statusQuery, view);
  setHandler(awaitAssignmentUpdate, async () => {
    await condition(() => status() !== 'pending');
    return view();
  });
  setHandler(claimSignal, ({ userId }) => void actions.push({ type: 'claim', userId }));
  setHandler(releaseSignal, ({ userId }) => {
    if (userId === assignment.assigneeId) releasedBy = userId;
    actions.push({ type: 'release', userId });
  });
  setHandler(reassignSignal, (a) => void actions.push({ type: 'reassign', ...a }));
  setHandler(cancelSignal, ({ byUserId, reason }) => void (cancelledBy ??= { byUserId, reason: reason ?? null }));
  setHandler(
    submitReviewUpdate,
    async (args) => {
      // Serialized by construction: the validator and this synchronous prefix run back to back,
      // so a second decision on the same items sees them pending and is rejected.
      const targets = check(args);
      targets.forEach((id) => pending.add(id));
      try {
        const recorded = await acts.recordTaskDecision({
          tenantId: input.tenantId,
          projectId: input.projectId,
          taskId,
          kind: input.kind,
          userId: args.userId,
          decision: args.decision,
          value: (args.value ?? null) as never,
          itemIds: targets,
          leadTimeMs: args.leadTimeMs ?? null,
        });
        targets.forEach((id) => decided.set(id, args.userId));
        return {
          accepted: true,
          taskId,
          decision: args.decision,
          itemIds: targets,
          annotationIds: recorded.annotationIds,
          decidedBy: args.userId,
          remaining: items.size - decided.size,
          // Absent from results recorded before conflicts moved into the activity: same commands, so no patch.
          conflicts: recorded.conflicts ?? [],
        };
      } finally {
        targets.forEach((id) => pending.delete(id));
      }
    },
    { validator: (args) => void check(args, true) },
  );

  /** A person's request; an escalated task stays escalated whoever takes it. */
  async function onAction(a: Action) {
    const escalate = assignment.status === 'escalated';
    if (a.type === 'claim') {
      if (assignment.assigneeId === null) {
        await assignment.assign({ explicit: a.userId, exclude: [], escalate, reason: 'claimed' });
      }
      if (assignment.assigneeId === a.userId && !claimed) {
        await acts.recordTaskClaim({ tenantId: input.tenantId, taskId, userId: a.userId });
        claimed = true;
      }
    } else if (a.type === 'release') {
      if (a.userId !== assignment.assigneeId) return;
      await assignment.assign({ exclude: [a.userId], escalate, reason: 'released' });
    } else {
      const current = assignment.assigneeId;
      const exclude = a.assigneeId ? [] : current ? [current] : [];
      await assignment.assign({ explicit: a.assigneeId ?? null, exclude, escalate, reason: `reassigned by ${a.byUserId}` });
    }
  }

  await assignment.assign({ explicit: input.assigneeId ?? null, exclude: [], escalate: false, reason: 'created' });
  await waitReassignEscalate(assignment, {
    finished: () => allDecided() || cancelledBy !== null,
    decisionInFlight: () => pending.size > 0,
    stillUndecided: () => !allDecided(),
    actions: {
      pending: () => actions.length > 0,
      handleNext: async () => {
        const a = actions.shift();
        if (a) await onAction(a);
      },
    },
  });

  await condition(allHandlersFinished);
  const closed = await acts.completeTask({
    tenantId: input.tenantId,
    projectId: input.projectId,
    taskId,
    kind: input.kind,
    ...(cancelledBy && !allDecided() ? { cancelled: cancelledBy } : {}),
  });
  closedStatus = closed.status;
  return view();
}
