import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import type { Knex } from 'knex';
import { createActivities } from '../../activities';
import type { LlmSwitcher } from '../llm/types';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  llmTaskQueue: string;
  db: Knex;
  switcher: LlmSwitcher;
  llmConcurrency: number;
  /** A prebuilt bundle (tests bundle once per suite); otherwise bundled from `workflows/`. */
  workflowBundle?: WorkflowBundleOption;
}

export const WORKFLOWS_PATH = require.resolve('../../workflows');

export function bundleWorkflows(): Promise<WorkflowBundleOption> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

const quietBundlerLogger = {
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
  log: () => undefined,
};

/**
 * The two workers of one process: `annotation` runs workflows and database activities,
 * `annotation-llm` runs the LLM batch activities, so LLM concurrency is set apart.
 */
export async function createWorkers(options: WorkerOptions): Promise<Worker[]> {
  const activities = createActivities({ db: options.db, switcher: options.switcher, llmConcurrency: options.llmConcurrency });
  const workflowSource = options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH };
  const main = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...workflowSource,
    activities,
  });
  const llm = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.llmTaskQueue,
    activities: { annotateBatch: activities.annotateBatch },
    // Batches hold many LLM calls each; the per-process LLM semaphore bounds the calls.
    maxConcurrentActivityTaskExecutions: Math.max(4, Math.ceil(options.llmConcurrency / 4)),
  });
  return [main, llm];
}

/** Runs the workers until `until` settles (or until shutdown), stopping them together. */
export async function runWorkers(workers: Worker[], until?: Promise<unknown>): Promise<void> {
  await Promise.all(workers.map((w) => (until ? w.runUntil(until) : w.run())));
}
