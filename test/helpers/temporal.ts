import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { startDevServer } from '../../src/temporal/dev-server';
import { bundleWorkflows } from '../../src/temporal/worker';

/** One Temporal dev server per test file (the CLI binary comes from global setup). */
export function startTestTemporal(): Promise<TestWorkflowEnvironment> {
  return startDevServer({ cliPath: process.env.TEMPORAL_CLI_PATH });
}

let bundle: Promise<WorkflowBundleOption> | undefined;
/** Workflow code bundled once per test file and shared by every worker in it. */
export function testWorkflowBundle(): Promise<WorkflowBundleOption> {
  bundle ??= bundleWorkflows();
  return bundle;
}
