import type { Knex } from 'knex';
import type { Config } from '../config';

export const ENV_OPENAI_ENGINE_ID = '00000000-0000-4000-8000-000000000002';

/**
 * Registers the OpenAI-compatible engine configured by OPENAI_BASE_URL and OPENAI_MODEL as a
 * built-in (tenant_id NULL) engine named 'openai-env', whose key is read from OPENAI_API_KEY at
 * call time (never stored). Idempotent: repeated starts update the same row. Without the
 * variables, a previously registered row is disabled. Returns the engine id, or null.
 */
export async function registerEnvironmentEngine(
  db: Knex,
  config: Pick<Config, 'OPENAI_BASE_URL' | 'OPENAI_MODEL'>,
): Promise<string | null> {
  if (!config.OPENAI_BASE_URL || !config.OPENAI_MODEL) {
    await db('engines').where({ id: ENV_OPENAI_ENGINE_ID }).whereNull('tenant_id').update({ enabled: false, updated_at: db.fn.now() });
    return null;
  }
  const row = {
    id: ENV_OPENAI_ENGINE_ID,
    tenant_id: null,
    name: 'openai-env',
    provider: 'openai',
    model: config.OPENAI_MODEL,
    base_url: config.OPENAI_BASE_URL,
    api_key_env: 'OPENAI_API_KEY',
    enabled: true,
  };
  await db('engines')
    .insert(row)
    .onConflict('id')
    .merge({ ...row, updated_at: db.fn.now() } as Record<string, unknown>);
  return ENV_OPENAI_ENGINE_ID;
}
