import { z } from 'zod';
import { paginationQuery } from '../middleware/pagination';

/** Roles within a project; `admin` is a tenant-wide token role, not a membership. */
export const MEMBER_ROLES = ['annotator', 'reviewer', 'manager', 'viewer'] as const;

export const UpsertMemberBody = z
  .object({
    user_id: z.string().trim().min(1).max(256).regex(/\S/, 'must not be blank').meta({ description: 'The user id (the `sub` of their token)' }),
    role: z.enum(MEMBER_ROLES),
  })
  .meta({ id: 'UpsertMember' });

export const ListMembersQuery = paginationQuery.extend({
  role: z.enum(MEMBER_ROLES).optional().meta({ description: 'Only members with this role (e.g. the reviewer pool)' }),
});

export const MemberResponse = z
  .object({
    project_id: z.uuid(),
    user_id: z.string(),
    role: z.enum(MEMBER_ROLES),
    created_at: z.string().meta({ format: 'date-time' }),
  })
  .meta({ id: 'ProjectMember' });
