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
    },
  });
}
