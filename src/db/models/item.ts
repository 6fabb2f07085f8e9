import { TenantScopedModel, type Row } from './base';

export class Item extends TenantScopedModel {
  static override tableName = 'items';
  static override jsonAttributes = ['data', 'gold_label'];
  id!: string;
  project_id!: string;
  /** bigint: pg returns it as a string. */
  seq!: string;
  external_id!: string | null;
  data!: { text?: string; [k: string]: unknown };
  gold_label!: unknown;
  created_at!: Date;
}

export type ItemRow = Row<Item>;
