import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { resolveTemporalCli } from '../../src/temporal/cli-binary';
import { TEST_PG_ADMIN_URL } from './db';
import { buildApp } from '../../scripts/build-app';
import { cachedWorkflowBundlePath } from './workflow-bundle';

/**
 * Runs once before the suite: makes sure a Temporal CLI is at hand (exported as
 * TEMPORAL_CLI_PATH for every test file), bundles the workflows once for the whole run
 * (ANNO_TEST_WORKFLOW_BUNDLE, a file cached by content: workflow-bundle.ts) and removes
 * databases left by killed earlier runs. Builds the web app (dist/app) the API serves at /app.
 */
export default async function globalSetup(): Promise<void> {
  const cli = resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI_PATH, log: (m) => console.log(m) });
  if (cli) process.env.TEMPORAL_CLI_PATH = cli;
  // Workers in tests keep no workflow cache: every workflow task replays the whole history, so
  // nondeterminism shows up in the run that introduces it (set it to another size to compare).
  process.env.TEMPORAL_MAX_CACHED_WORKFLOWS ??= '0';
  // Every history the suite produces is replayed at the end (test/replay-last/).
  process.env.ANNO_SUITE_HISTORIES_DIR ??= fs.mkdtempSync(path.join(os.tmpdir(), 'anno-suite-histories-'));
  process.env.ANNO_TEST_WORKFLOW_BUNDLE = await cachedWorkflowBundlePath();
  await buildApp();

  const admin = knexFactory({ client: 'pg', connection: TEST_PG_ADMIN_URL, pool: { min: 0, max: 1 } });
  try {
    const { rows } = await admin.raw(
      "SELECT datname FROM pg_database WHERE datname LIKE 'anno\\_test\\_%' OR datname LIKE 'anno\\_bench\\_%'",
    );
    for (const { datname } of rows as { datname: string }[]) {
      const pid = Number(datname.split('_')[2]);
      if (pid && pid !== process.pid && !isAlive(pid)) await admin.raw(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
  } finally {
    await admin.destroy();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
