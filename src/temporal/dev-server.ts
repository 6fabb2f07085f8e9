import fs from 'node:fs';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ALL_SEARCH_ATTRIBUTES } from './search-attributes';

export interface DevServerOptions {
  /** The `temporal` binary; undefined lets the SDK download one (needs internet). */
  cliPath?: string;
  /** SQLite file for persisted history; undefined keeps everything in memory. */
  dbFilename?: string;
  namespace?: string;
  /** Serve the Temporal UI on this port. */
  uiPort?: number;
  port?: number;
}

/**
 * Task-queue priority and fairness (src/temporal/priority.ts): the priority-aware matcher, and
 * fairness between the fairness keys (tenants) of a task queue. One partition per task queue: the
 * dev server is one process, and priority orders a backlog within a partition (with several, a
 * poller takes from any of them). A cluster sets the first two keys in its dynamic config and
 * keeps its partitions (README, Operating it).
 */
export const DEV_SERVER_DYNAMIC_CONFIG = [
  'matching.useNewMatcher=true',
  'matching.enableFairness=true',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

/**
 * Starts the Temporal CLI dev server (`temporal server start-dev`) through the SDK's
 * ephemeral-server support, with this service's search attributes registered.
 */
export async function startDevServer(options: DevServerOptions): Promise<TestWorkflowEnvironment> {
  if (options.dbFilename) fs.mkdirSync(path.dirname(options.dbFilename), { recursive: true });
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: options.cliPath ? { type: 'existing-path', path: options.cliPath } : { type: 'cached-download' },
      dbFilename: options.dbFilename,
      namespace: options.namespace,
      ui: options.uiPort !== undefined,
      uiPort: options.uiPort,
      port: options.port,
      searchAttributes: ALL_SEARCH_ATTRIBUTES,
      extraArgs: DEV_SERVER_DYNAMIC_CONFIG.flatMap((kv) => ['--dynamic-config-value', kv]),
    },
  });
}
