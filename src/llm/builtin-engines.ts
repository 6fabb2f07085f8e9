/**
 * The built-in engines every tenant may use and none may change (`engines.tenant_id IS NULL`).
 *
 * The row is seeded by the initial migration, which imports the id from here (a migration may
 * import a constant; src/ never imports a migration). The value is part of every database that
 * already migrated: never change it.
 */

/** The offline naive-Bayes engine: the default route when a project configures none. */
export const BUILTIN_LOCAL_ENGINE_ID = '00000000-0000-4000-8000-000000000001';
