import { Model, type ModelObject } from 'objection';

/**
 * Every tenant's table has `tenant_id`. Columns are snake_case, as in the API, so a row and its
 * JSON shape line up without a mapping layer.
 */
export abstract class TenantScopedModel extends Model {
  tenant_id!: string;
}

/**
 * A table's row as knex returns it: the model's data properties, no methods. Raw-SQL hot paths
 * type their rows with this, so a model stays the one definition of its table's shape.
 */
export type Row<M extends Model> = ModelObject<M>;
