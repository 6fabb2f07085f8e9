import type { TaskRow } from '../../db/models';
import type { AssignedTask } from '../../tasks/create-tasks';
import type { SubmittedAnnotation } from '../../tasks/submit-annotation';
import { iso } from '../../formats';

export function presentTask(t: TaskRow) {
  const due = t.due_at ? new Date(t.due_at) : null;
  return {
    task_id: t.id,
    project_id: t.project_id,
    kind: t.kind,
    status: t.status,
    item_ids: t.item_ids,
    assignee_id: t.assignee_id,
    assignees: t.assignees ?? [],
    strategy: t.strategy,
    due_at: iso(t.due_at),
    overdue: Boolean(due && (t.status === 'open' || t.status === 'escalated') && due.getTime() < Date.now()),
    attempts: t.attempts,
    workflow_id: t.workflow_id,
    source: t.source,
    source_id: t.source_id,
    conflict_id: t.conflict_id,
    result: t.result,
    created_by: t.created_by,
    assigned_at: iso(t.assigned_at),
    claimed_at: iso(t.claimed_at),
    escalated_at: iso(t.escalated_at),
    completed_at: iso(t.completed_at),
    created_at: iso(t.created_at)!,
    updated_at: iso(t.updated_at)!,
  };
}

/** The answer of POST /annotation/submit. */
export function presentSubmittedAnnotation(s: SubmittedAnnotation) {
  return {
    annotation_id: s.annotationId,
    item_id: s.itemId,
    task_id: s.taskId,
    value: s.value,
    annotator_id: s.annotatorId,
    verdict: s.verdict,
    conflict: s.conflict ? { conflict_id: s.conflict.conflictId, created: s.conflict.created } : null,
  };
}

/** A task just created (POST /annotation/tasks/assign, each of POST /annotation/review-tasks). */
export function presentAssignedTask(t: AssignedTask) {
  return {
    task_id: t.taskId,
    workflow_id: t.workflowId,
    kind: t.kind,
    assignee_id: t.assigneeId,
    due_at: t.dueAt,
    status: t.status,
    item_ids: t.itemIds,
  };
}
