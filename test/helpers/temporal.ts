import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { startDevServer } from '../../src/temporal/dev-server';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { currentTestFileLabel, saveSuiteHistories } from './suite-histories';
import { cachedWorkflowBundlePath } from './workflow-bundle';

/**
 * One Temporal dev server per test file (the CLI binary comes from global setup). Its teardown
 * first keeps every history the file produced, for the suite's final replay (suite-histories.ts).
 */
export async function startTestTemporal(): Promise<TestWorkflowEnvironment> {
  // The SDK's own logs only when something is wrong (TEST_LOG_LEVEL=info to see them all).
  installTemporalRuntime(createLogger({ LOG_LEVEL: (process.env.TEST_LOG_LEVEL as 'warn') ?? 'warn', NODE_ENV: 'test' }));
  const env = await startDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH });
  const label = currentTestFileLabel();
  const teardown = env.teardown.bind(env);
  env.teardown = async () => {
    await saveSuiteHistories(env.client, label);
    await teardown();
  };
  return env;
}

let bundle: Promise<WorkflowBundleOption> | undefined;
/**
 * The workflow bundle of the run, shared by every worker in the file: the file global setup
 * prepared (workflow-bundle.ts), or, outside jest (a recorder script), the cached one.
 */
export function testWorkflowBundle(): Promise<WorkflowBundleOption> {
  bundle ??= (async () => ({ codePath: process.env.ANNO_TEST_WORKFLOW_BUNDLE || (await cachedWorkflowBundlePath()) }))();
  return bundle;
}
