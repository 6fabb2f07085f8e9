import type { Knex } from 'knex';
import type { Candidate } from '../annotation/assignment';
import type { MemberRow } from '../db/models';

/** Eligible members of a project with their open-task load. */
export async function loadCandidates(db: Knex | Knex.Transaction, projectId: string, roles: readonly string[]): Promise<Candidate[]> {
  const { rows } = await db.raw(
    `SELECT m.user_id, m.created_at,
            (SELECT count(*) FROM tasks t
              WHERE t.project_id = m.project_id AND t.assignee_id = m.user_id AND t.status IN ('open', 'escalated'))::int AS open_tasks
       FROM project_members m
      WHERE m.project_id = ? AND m.role = ANY(?)`,
    [projectId, [...roles]],
  );
  return rows.map((r: Pick<MemberRow, 'user_id' | 'created_at'> & { open_tasks: number }) => ({
    userId: r.user_id,
    joinedAt: new Date(r.created_at).getTime(),
    openTasks: Number(r.open_tasks),
  }));
}
