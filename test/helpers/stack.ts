import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { loadConfig } from '../../src/config';
import { buildWorkers } from '../../src/processes/worker';
import { startTestApi, type TestApi } from './api';
import { createTestDatabase, type TestDatabase } from './db';
import { startTestTemporal, testWorkflowBundle } from './temporal';

/** The whole service for an end-to-end test file: database, Temporal, workers and the API. */
export interface TestStack {
  tdb: TestDatabase;
  env: TestWorkflowEnvironment;
  api: TestApi;
  /** Stops the workers (draining them), the API, Temporal, and drops the database. */
  stop(): Promise<void>;
}

/**
 * Starts a fresh database and Temporal dev server, this service's workers (with the workflow
 * bundle shared by the file) and the real API, all configured with `settings` (env names).
 */
export async function startTestStack(settings: Record<string, string> = {}, opts: { devSignIn?: boolean } = {}): Promise<TestStack> {
  const [tdb, env] = await Promise.all([createTestDatabase(), startTestTemporal()]);
  const api = await startTestApi({ db: tdb.db, temporalClient: env.client, env: settings, devSignIn: opts.devSignIn });
  const config = loadConfig({ ...process.env, ...settings, LOG_LEVEL: 'silent' });
  const workers = await buildWorkers(config, tdb.db, env.nativeConnection, await testWorkflowBundle());
  let release!: () => void;
  const stopSignal = new Promise<void>((resolve) => (release = resolve));
  const running = Promise.all(workers.map((w) => w.runUntil(stopSignal)));
  return {
    tdb,
    env,
    api,
    async stop() {
      release();
      await running;
      await api.close();
      await Promise.all([env.teardown(), tdb.drop()]);
    },
  };
}
