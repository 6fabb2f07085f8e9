import type { Priority } from '@temporalio/common';

/**
 * The task-queue priority of each kind of workflow (1 runs first; Temporal's default is 3 of
 * 1..5), and fairness between tenants: every workflow carries its tenant as the fairness key, so
 * on a backlogged queue each tenant gets a share of dispatch in proportion to its weight instead
 * of waiting behind another tenant's queue. Activities inherit their workflow's priority.
 *
 * People waiting (review and conflict tasks) go ahead of validation, which goes ahead of batch
 * jobs (pre-annotation, batch coverage).
 */
export const PRIORITY_KEYS = {
  review: 1,
  conflict: 1,
  validation: 3,
  batch: 4,
} as const;

export type PriorityClass = keyof typeof PRIORITY_KEYS;

/** The priority of a workflow of `kind` for `tenantId`; `weights` (TENANT_FAIRNESS_WEIGHTS) give a tenant more or less than the default share of 1. */
export function workflowPriority(kind: PriorityClass, tenantId: string, weights: Readonly<Record<string, number>> = {}): Priority {
  const weight = weights[tenantId];
  return {
    priorityKey: PRIORITY_KEYS[kind],
    // Fairness keys are limited to 64 bytes.
    fairnessKey: Buffer.byteLength(tenantId) <= 64 ? tenantId : tenantId.slice(0, 32),
    ...(weight !== undefined ? { fairnessWeight: weight } : {}),
  };
}
