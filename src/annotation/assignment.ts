/**
 * Who gets a task: pure rules shared by the `reviewAssignment` workflow's activities and the API.
 *
 * Eligibility is by project role: annotators annotate, reviewers review, managers (and members
 * with an `expert` role, should a deployment add one) take expert and escalated work.
 *
 * Strategies (both deterministic, so a retried activity picks the same member from the same rows):
 * - `least_loaded`: the member with the fewest open tasks in the project; ties go to the member
 *   who joined the project first (then user id).
 * - `round_robin`: members in join order (then user id); the one after the member who was
 *   assigned a task of this kind most recently, wrapping around.
 * Members in `exclude` (e.g. those a task already timed out with) are skipped; if that leaves no
 * one, the answer is null and the caller escalates. Expert work falls back to the project's
 * creator when the project has no manager/expert member (`pickExpertAssignee`).
 */
export const ASSIGNMENT_STRATEGIES = ['least_loaded', 'round_robin'] as const;
export type AssignmentStrategy = (typeof ASSIGNMENT_STRATEGIES)[number];

export const TASK_KINDS = ['annotate', 'review', 'expert'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const TASK_STATUSES = ['open', 'completed', 'escalated', 'cancelled'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

/** Project roles that may take a task of each kind. */
export const ELIGIBLE_ROLES: Record<TaskKind, readonly string[]> = {
  annotate: ['annotator'],
  review: ['reviewer'],
  expert: ['manager', 'expert'],
};

/** Roles an escalated task goes to. */
export const ESCALATION_ROLES: readonly string[] = ELIGIBLE_ROLES.expert;

export interface Candidate {
  userId: string;
  /** Open (or escalated) tasks currently assigned to this member in the project. */
  openTasks: number;
  /** When the member joined the project (ISO string or epoch ms): the stable order. */
  joinedAt: string | number;
}

export interface PickInput {
  strategy: AssignmentStrategy;
  candidates: readonly Candidate[];
  exclude?: readonly string[];
  /** round_robin: who was assigned this kind of task most recently in the project. */
  lastAssigneeId?: string | null;
}

/** Candidates in the stable order: join time, then user id. */
export function stableOrder(candidates: readonly Candidate[]): Candidate[] {
  const t = (c: Candidate) => (typeof c.joinedAt === 'number' ? c.joinedAt : Date.parse(c.joinedAt));
  return [...candidates].sort((a, b) => t(a) - t(b) || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

export function pickAssignee(input: PickInput): string | null {
  const excluded = new Set(input.exclude ?? []);
  const ordered = stableOrder(input.candidates);
  const pool = ordered.filter((c) => !excluded.has(c.userId));
  if (!pool.length) return null;
  if (input.strategy === 'least_loaded') {
    let best = pool[0];
    for (const c of pool) if (c.openTasks < best.openTasks) best = c;
    return best.userId;
  }
  // round_robin over the full order, so exclusions do not shift whose turn it is.
  const last = input.lastAssigneeId ? ordered.findIndex((c) => c.userId === input.lastAssigneeId) : -1;
  for (let step = 1; step <= ordered.length; step++) {
    const c = ordered[(last + step + ordered.length) % ordered.length];
    if (!excluded.has(c.userId)) return c.userId;
  }
  return null;
}

/**
 * Expert work (a conflict's expert task, any escalated task) when the project has no member with
 * an expert role (manager/expert): it goes to the project's creator, a manager or admin (only
 * they may create projects), so it never waits with no assignee. Only when no such member exists
 * at all: members who are all excluded (they missed the deadline) still mean "escalate", as for
 * any task. The creator is skipped while excluded; the escalation that follows (no exclusions)
 * picks them again.
 */
export function pickExpertAssignee(input: PickInput & { projectCreatorId: string | null }): string | null {
  const picked = pickAssignee(input);
  if (picked !== null || input.candidates.length > 0 || !input.projectCreatorId) return picked;
  return (input.exclude ?? []).includes(input.projectCreatorId) ? null : input.projectCreatorId;
}

/** Groups item ids into consecutive tasks of at most `size` items (order kept). */
export function groupItems<T>(items: readonly T[], size: number): T[][] {
  if (!(size >= 1)) throw new Error('group size must be at least 1');
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}
