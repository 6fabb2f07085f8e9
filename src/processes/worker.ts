import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Knex } from 'knex';
import type { Config } from '../config';
import { createSwitcher } from '../llm/switcher';
import type { Logger } from '../logger';
import { installTemporalRuntime } from '../temporal/runtime';
import { createWorkers, runWorkers } from '../temporal/worker';
import type { WorkflowBundleOption } from '@temporalio/worker';

/** Builds this process's Temporal workers (workflows + activities) on a given connection. */
export async function buildWorkers(
  config: Config,
  db: Knex,
  connection: NativeConnection,
  workflowBundle?: WorkflowBundleOption,
): Promise<Worker[]> {
  return createWorkers({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    llmTaskQueue: config.TEMPORAL_LLM_TASK_QUEUE,
    db,
    // Engine rows are reused for 2 s: a batch asks for the same route for every item.
    switcher: createSwitcher({ db, timeoutMs: config.LLM_TIMEOUT_MS, engineCacheMs: 2000 }),
    llmConcurrency: config.LLM_CONCURRENCY,
    workflowBundle,
  });
}

/** `anno worker`: runs until SIGINT/SIGTERM (the SDK drains in-flight tasks on shutdown). */
export async function runWorkerProcess(config: Config, db: Knex, logger: Logger): Promise<void> {
  if (!config.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required for `anno worker`');
  installTemporalRuntime(logger);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const workers = await buildWorkers(config, db, connection);
  logger.info(`worker polling ${config.TEMPORAL_TASK_QUEUE} and ${config.TEMPORAL_LLM_TASK_QUEUE} on ${config.TEMPORAL_ADDRESS}`);
  try {
    await runWorkers(workers);
  } finally {
    await connection.close();
  }
}
