import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { startDevServer } from '../../src/temporal/dev-server';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { bundleWorkflows } from '../../src/temporal/worker';

/** One Temporal dev server per test file (the CLI binary comes from global setup). */
export function startTestTemporal(): Promise<TestWorkflowEnvironment> {
  // The SDK's own logs only when something is wrong (TEST_LOG_LEVEL=info to see them all).
  installTemporalRuntime(createLogger({ LOG_LEVEL: (process.env.TEST_LOG_LEVEL as 'warn') ?? 'warn', NODE_ENV: 'test' }));
  return startDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH });
}

let bundle: Promise<WorkflowBundleOption> | undefined;
/** Workflow code bundled once per test file and shared by every worker in it. */
export function testWorkflowBundle(): Promise<WorkflowBundleOption> {
  bundle ??= bundleWorkflows();
  return bundle;
}
