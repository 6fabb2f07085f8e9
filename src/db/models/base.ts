import { Model, type ModelObject, type Pojo } from 'objection';

/**
 * The base of every model. Both drivers (pg and PGlite) already parse json/jsonb columns, so
 * objection's second parse of `jsonAttributes` is skipped: it would turn a stored JSON string
 * such as `"42"` into the number 42. Writes still go through objection's JSON.stringify of
 * `jsonAttributes` (pg would send a JS array as a PostgreSQL array, not as JSON).
 */
export abstract class AppModel extends Model {
  override $parseDatabaseJson(json: Pojo): Pojo {
    return json;
  }
}

/**
 * Every tenant's table has `tenant_id`. Columns are snake_case, as in the API, so a row and its
 * JSON shape line up without a mapping layer.
 */
export abstract class TenantScopedModel extends AppModel {
  tenant_id!: string;
}

/**
 * A table's row as knex returns it: the model's data properties, no methods. Raw-SQL hot paths
 * type their rows with this, so a model stays the one definition of its table's shape.
 */
export type Row<M extends Model> = ModelObject<M>;
