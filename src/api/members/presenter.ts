import { iso } from '../../formats';

export interface MemberRow {
  project_id: string;
  user_id: string;
  role: string;
  created_at: Date;
}

export function presentMember(m: MemberRow) {
  return { project_id: m.project_id, user_id: m.user_id, role: m.role, created_at: iso(m.created_at) };
}
