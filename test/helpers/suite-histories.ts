import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

/**
 * Every workflow history the suite produces is kept (global setup names the folder in
 * ANNO_SUITE_HISTORIES_DIR) and replayed against the current workflow code by the last test
 * file (test/replay-last/), so a nondeterministic change fails the suite even where the run
 * that produced it passed.
 */
export function suiteHistoriesDir(): string | undefined {
  return process.env.ANNO_SUITE_HISTORIES_DIR || undefined;
}

/** Saves the history of every execution the server knows (binary protobuf, one file a run). */
export async function saveSuiteHistories(client: Client, label: string): Promise<number> {
  const dir = suiteHistoriesDir();
  if (!dir) return 0;
  fs.mkdirSync(dir, { recursive: true });
  const prefix = label.replace(/[^A-Za-z0-9_.-]+/g, '_');
  let saved = 0;
  for await (const execution of client.workflow.list()) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const file = `${prefix}__${execution.workflowId.replace(/[^A-Za-z0-9_.-]+/g, '_')}__${execution.runId}.history.bin`;
    fs.writeFileSync(path.join(dir, file), temporal.api.history.v1.History.encode(history).finish());
    saved++;
  }
  return saved;
}

/** The label of the running test file (its path under test/). */
export function currentTestFileLabel(): string {
  // Outside jest (a recorder script run with tsx) there is no test file.
  const testPath = (typeof expect === 'undefined' ? undefined : expect.getState().testPath) ?? 'script';
  return path.relative(path.resolve(__dirname, '..'), testPath);
}
