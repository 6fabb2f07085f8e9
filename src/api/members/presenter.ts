import type { MemberRow } from '../../db/models';
import { iso } from '../../formats';

export function presentMember(m: MemberRow) {
  return { project_id: m.project_id, user_id: m.user_id, role: m.role, created_at: iso(m.created_at) };
}
