import { TenantScopedModel, type Row } from './base';

export class Project extends TenantScopedModel {
  static override tableName = 'projects';
  static override jsonAttributes = ['label_schema', 'routing', 'quality_thresholds'];
  id!: string;
  name!: string;
  label_schema!: { type: 'single_label' | 'multi_label'; labels: string[] };
  guidelines!: string | null;
  routing!: Record<string, unknown>;
  quality_thresholds!: Record<string, unknown> | null;
  created_by!: string;
  created_at!: Date;
  updated_at!: Date;
}

export class ProjectMember extends TenantScopedModel {
  static override tableName = 'project_members';
  static override idColumn = ['project_id', 'user_id'];
  project_id!: string;
  user_id!: string;
  role!: string;
  created_at!: Date;
}

export type ProjectRow = Row<Project>;
export type MemberRow = Row<ProjectMember>;
