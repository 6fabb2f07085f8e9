import { condition } from '@temporalio/workflow';
import type { AssignTaskInput, AssignTaskResult } from '../activities/tasks';
import type { AssignmentStrategy, TaskKind } from '../src/annotation/assignment';

/**
 * THE "assign, wait with a deadline, reassign, escalate" loop of a human task, shared by
 * `reviewAssignment` (review and annotate tasks) and `conflictResolution` (its expert task).
 * Workflow code: it schedules only the caller's `assignTask` activity and `condition` timers,
 * in the order each workflow scheduled them when it had its own copy, so recorded histories
 * replay unchanged (test/integration/replay.test.ts).
 */

/** The task being assigned and its rules. */
export interface AssignmentTarget {
  tenantId: string;
  projectId: string;
  taskId: string;
  kind: TaskKind;
  /** The strategy of a normal assignment; an escalation always picks the least loaded. */
  strategy: AssignmentStrategy;
  /** Deadline of each non-escalated assignment; null or 0: no deadline. */
  dueInSeconds: number | null;
  /** Reassignments after missed deadlines before the task escalates. */
  maxReassignments: number;
  /** The audit reason of an escalation because a deadline reassignment found no one else. */
  noOtherAssigneeReason: string;
}

export interface AssignRequest {
  /** A member chosen by a person (explicit assignee, claim, reassign to); else the strategy picks. */
  explicit?: string | null;
  /** Members the strategy must skip (those the task already timed out with, the releasing assignee). */
  exclude: string[];
  escalate: boolean;
  reason: string;
  /** A reassignment after a missed deadline: counts toward `maxReassignments`. */
  countsAsReassignment?: boolean;
}

/** The `assignTask` activity as the workflow's `proxyActivities` gives it. */
export type AssignTaskActivity = (input: AssignTaskInput) => Promise<AssignTaskResult>;

/** A task's assignment state, changed only by `assign`. */
export class TaskAssignment {
  assigneeId: string | null = null;
  dueAt: string | null = null;
  /** `pending` until the first assignment is made. */
  status: AssignTaskResult['status'] | 'pending' = 'pending';
  /** The last assignment was an escalation. */
  escalated = false;
  attempts = 0;
  reassignments = 0;
  /** Everyone the task was ever assigned to, in order. */
  readonly assignees: string[] = [];
  /** When the current assignment's deadline passes (workflow time, ms); null: none. */
  deadline: number | null = null;

  constructor(
    private readonly target: AssignmentTarget,
    private readonly assignTask: AssignTaskActivity,
    /** Called after every assignment (the review task forgets its claim and its releasing assignee). */
    private readonly onAssigned: () => void = () => {},
  ) {}

  async assign(req: AssignRequest): Promise<void> {
    const t = this.target;
    const next = this.attempts + 1;
    const r = await this.assignTask({
      tenantId: t.tenantId,
      projectId: t.projectId,
      taskId: t.taskId,
      kind: t.kind,
      strategy: req.escalate ? 'least_loaded' : t.strategy,
      explicitAssigneeId: req.explicit ?? null,
      exclude: req.exclude,
      attempt: next,
      escalate: req.escalate,
      dueInSeconds: req.escalate ? null : t.dueInSeconds,
      reason: req.reason,
    });
    this.attempts = next;
    if (req.countsAsReassignment) this.reassignments++;
    this.assigneeId = r.assigneeId;
    this.dueAt = r.dueAt;
    if (r.assigneeId && !this.assignees.includes(r.assigneeId)) this.assignees.push(r.assigneeId);
    this.status = r.status;
    this.escalated = req.escalate;
    this.deadline = !req.escalate && t.dueInSeconds ? Date.now() + t.dueInSeconds * 1000 : null;
    this.onAssigned();
  }

  /** A missed deadline: another member (up to `maxReassignments` times), else an escalation. */
  async reassignAfterDeadline(): Promise<void> {
    if (this.reassignments < this.target.maxReassignments) {
      await this.assign({ exclude: [...this.assignees], escalate: false, reason: 'deadline', countsAsReassignment: true });
      if (this.assigneeId === null) await this.assign({ exclude: [], escalate: true, reason: this.target.noOtherAssigneeReason });
    } else {
      await this.assign({ exclude: [], escalate: true, reason: 'deadline: reassignment limit reached' });
    }
  }
}

/** What the loop asks the workflow that owns the task. */
export interface AssignmentLoopHooks {
  /** The loop returns once this holds (every item decided, the conflict resolved, the task cancelled). */
  finished(): boolean;
  /** A decision being recorded when the deadline passes is not late: the loop waits for it. */
  decisionInFlight(): boolean;
  /** Checked after that wait: false (decided meanwhile) means no reassignment. */
  stillUndecided(): boolean;
  /** Requests from people (claim, release, reassign): the loop wakes for them and hands them back one at a time. */
  actions?: { pending(): boolean; handleNext(): Promise<void> };
}

/**
 * Waits for the task to be finished, reassigning on every missed deadline and handling the
 * people's requests in arrival order. The first assignment is the caller's (`assignment.assign`).
 */
export async function waitReassignEscalate(assignment: TaskAssignment, hooks: AssignmentLoopHooks): Promise<void> {
  const wake = () => hooks.finished() || (hooks.actions?.pending() ?? false);
  while (!hooks.finished()) {
    if (assignment.deadline === null) {
      await condition(wake);
    } else {
      const left = assignment.deadline - Date.now();
      const woke = left > 0 ? await condition(wake, left) : false;
      if (!woke) {
        await condition(() => !hooks.decisionInFlight());
        if (hooks.stillUndecided()) await assignment.reassignAfterDeadline();
        continue;
      }
    }
    if (hooks.finished()) break;
    await hooks.actions?.handleNext();
  }
}
