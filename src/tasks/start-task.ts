import crypto from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { AssignmentStrategy, TaskKind } from '../annotation/assignment';
import type { Config } from '../config';
import { Project } from '../db/models';
import type { LabelSchema } from '../llm/types';
import { JOB_TYPE, PROJECT_ID, TENANT_ID } from '../temporal/search-attributes';
import { workflowIds } from '../temporal/workflow-ids';
import { reviewAssignment, type ReviewAssignmentInput } from '../../workflows/review-assignment';
import { workflowPriority } from '../temporal/priority';

/** Items per review task when a list of items is split (pre-annotation, POST /review-tasks). */
export const REVIEW_TASK_SIZE = 25;
/** Reassignments after missed deadlines before a task escalates to a manager. */
export const DEFAULT_MAX_REASSIGNMENTS = 2;
/** Deadline of a task when the request names none (24 h). */
export const DEFAULT_DUE_IN_SECONDS = 24 * 3600;

export const REVIEW_TASK_JOB_TYPE = 'review_task';

/** A name-based UUID (SHA-1, RFC 4122 version 5 layout): the same name gives the same id. */
export function taskIdFor(name: string): string {
  const h = crypto.createHash('sha1').update(`annotation-orchestrator:task:${name}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

export interface StartTaskRequest {
  tenantId: string;
  projectId: string;
  /** Default: a random id. Pass a derived one (taskIdFor) to make the start idempotent. */
  taskId?: string;
  kind: Exclude<TaskKind, 'expert'>;
  itemIds: string[];
  assigneeId?: string | null;
  strategy?: AssignmentStrategy;
  dueInSeconds?: number | null;
  maxReassignments?: number;
  createdBy: string;
  source: 'api' | 'pre_annotation';
  sourceId?: string | null;
}

/**
 * Creates a task row and its `reviewAssignment` workflow (id `review/<tenant>/<task>`). The row
 * insert and the start are both idempotent: the same task id twice makes one row and one run
 * (REJECT_DUPLICATE: not even a closed run of that id is started again).
 */
export async function startTask(
  db: Knex,
  client: Client,
  settings: Pick<Config, 'TEMPORAL_TASK_QUEUE'>,
  req: StartTaskRequest,
): Promise<{ taskId: string; workflowId: string; started: boolean }> {
  const taskId = req.taskId ?? crypto.randomUUID();
  const workflowId = workflowIds.review(req.tenantId, taskId);
  const project = await Project.query(db).findOne({ id: req.projectId, tenant_id: req.tenantId }).select('label_schema', 'routing');
  if (!project) throw new Error(`project ${req.projectId} not found`);
  const routing = project.routing ?? {};
  const strategy = req.strategy ?? ((routing.review_strategy as AssignmentStrategy | undefined) ?? 'least_loaded');
  const dueInSeconds = req.dueInSeconds === undefined ? DEFAULT_DUE_IN_SECONDS : req.dueInSeconds;
  const itemIds = [...new Set(req.itemIds)];
  await db('tasks')
    .insert({
      id: taskId,
      tenant_id: req.tenantId,
      project_id: req.projectId,
      kind: req.kind,
      item_ids: JSON.stringify(itemIds),
      item_count: itemIds.length,
      status: 'open',
      strategy: req.assigneeId ? 'explicit' : strategy,
      due_in_seconds: dueInSeconds,
      workflow_id: workflowId,
      source: req.source,
      source_id: req.sourceId ?? null,
      created_by: req.createdBy,
    })
    .onConflict('id')
    .ignore();
  const input: ReviewAssignmentInput = {
    tenantId: req.tenantId,
    projectId: req.projectId,
    taskId,
    kind: req.kind,
    itemIds,
    strategy,
    assigneeId: req.assigneeId ?? null,
    dueInSeconds,
    maxReassignments: req.maxReassignments ?? DEFAULT_MAX_REASSIGNMENTS,
    labelSchema: project.label_schema as LabelSchema,
  };
  try {
    await client.workflow.start(reviewAssignment, {
      taskQueue: settings.TEMPORAL_TASK_QUEUE,
      workflowId,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      priority: workflowPriority('review', req.tenantId),
      typedSearchAttributes: [
        { key: TENANT_ID, value: req.tenantId },
        { key: PROJECT_ID, value: req.projectId },
        { key: JOB_TYPE, value: REVIEW_TASK_JOB_TYPE },
      ],
    });
    return { taskId, workflowId, started: true };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { taskId, workflowId, started: false };
    throw err;
  }
}
