import { AppModel, type Row } from './base';

export class Tenant extends AppModel {
  static override tableName = 'tenants';
  id!: string;
  name!: string | null;
  created_at!: Date;
}

export type TenantRow = Row<Tenant>;
