import fs from 'node:fs';
import path from 'node:path';
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
  /** Default `min_pairable_values` of the quality thresholds (QUALITY_MIN_PAIRABLE_VALUES; unset: 20). */
  qualityMinPairableValues?: number;
  /** A prebuilt bundle (tests bundle once per suite); otherwise bundled from `workflows/`. */
  workflowBundle?: WorkflowBundleOption;
  /** A bundle file written by `anno bundle-workflows` (default: the build's, if present). */
  workflowBundlePath?: string;
  /** Workflow cache size (undefined: the SDK's default; 0: off, every task replays its history). */
  maxCachedWorkflows?: number;
}

export const WORKFLOWS_PATH = require.resolve('../../workflows');

/**
 * The workflow bundle `npm run build` writes next to the compiled code (dist/workflow-bundle.js).
 * A worker started from the build loads it instead of running webpack at start-up, which
 * saves seconds and a few hundred MB of peak memory. From sources there is none.
 */
export const PREBUILT_BUNDLE_PATH = path.resolve(__dirname, '../../workflow-bundle.js');

export function bundleWorkflows(): Promise<WorkflowBundleOption> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
}

/** Writes the workflow bundle for a build (`anno bundle-workflows`, run by `npm run build`). */
export async function writeWorkflowBundle(out = PREBUILT_BUNDLE_PATH): Promise<string> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietBundlerLogger });
  fs.writeFileSync(out, code);
  return out;
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
  const activities = createActivities({
    db: options.db,
    switcher: options.switcher,
    llmConcurrency: options.llmConcurrency,
    qualityMinPairableValues: options.qualityMinPairableValues,
  });
  const bundlePath = options.workflowBundlePath ?? (fs.existsSync(PREBUILT_BUNDLE_PATH) ? PREBUILT_BUNDLE_PATH : undefined);
  if (options.workflowBundlePath && !fs.existsSync(options.workflowBundlePath)) {
    throw new Error(`WORKFLOW_BUNDLE_PATH: no file at ${options.workflowBundlePath}`);
  }
  const workflowSource = options.workflowBundle
    ? { workflowBundle: options.workflowBundle }
    : bundlePath
      ? { workflowBundle: { codePath: bundlePath } }
      : { workflowsPath: WORKFLOWS_PATH };
  const main = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...workflowSource,
    activities,
    ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
  });
  const llm = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.llmTaskQueue,
    // The provider batch activities reach a provider too (each call short: the waits are timers).
    activities: {
      annotateBatch: activities.annotateBatch,
      submitProviderBatch: activities.submitProviderBatch,
      pollProviderBatch: activities.pollProviderBatch,
      cancelProviderBatch: activities.cancelProviderBatch,
      collectProviderBatch: activities.collectProviderBatch,
      abandonProviderBatch: activities.abandonProviderBatch,
    },
    // Batches hold many LLM calls each; the per-process LLM semaphore bounds the calls.
    maxConcurrentActivityTaskExecutions: Math.max(4, Math.ceil(options.llmConcurrency / 4)),
  });
  return [main, llm];
}

/** Runs the workers until `until` settles (or until shutdown), stopping them together. */
export async function runWorkers(workers: Worker[], until?: Promise<unknown>): Promise<void> {
  await Promise.all(workers.map((w) => (until ? w.runUntil(until) : w.run())));
}
