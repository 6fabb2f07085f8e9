import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { suiteHistoriesDir } from '../helpers/suite-histories';
import { testWorkflowBundle } from '../helpers/temporal';

/**
 * The suite's last file (see test/helpers/sequencer.js): replays every workflow history the
 * suite's files produced (kept by their Temporal teardown) against the current workflow bundle,
 * with a fresh worker and no cache, and fails on any nondeterminism. Run alone it has nothing
 * to replay and is skipped.
 */
jest.setTimeout(600_000);

const dir = suiteHistoriesDir();
const files = dir && fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.history.bin')).sort() : [];
// Fixture workflows that are not this service's (a deliberately stuck stand-in) replay elsewhere.
const FOREIGN_TASK_QUEUES = new Set(['stuck']);

(files.length ? test : test.skip)(`every workflow history this suite produced replays on the current code (${files.length} runs)`, async () => {
  installTemporalRuntime(createLogger({ LOG_LEVEL: 'error', NODE_ENV: 'test' }));
  const histories = files
    .map((file) => ({ workflowId: file, history: temporal.api.history.v1.History.decode(fs.readFileSync(path.join(dir!, file))) }))
    .filter(({ history }) => !FOREIGN_TASK_QUEUES.has(history.events[0]?.workflowExecutionStartedEventAttributes?.taskQueue?.name ?? ''));
  const failures: string[] = [];
  const types = new Map<string, number>();
  for await (const result of Worker.runReplayHistories({ workflowBundle: await testWorkflowBundle() }, histories)) {
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error).slice(0, 500)}`);
  }
  for (const { history } of histories) {
    const type = history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '?';
    types.set(type, (types.get(type) ?? 0) + 1);
  }
  console.log(`replayed ${histories.length} histories of the suite (${[...types].map(([t, n]) => `${t} ${n}`).join(', ')}): ${failures.length} failed`);
  expect(failures).toEqual([]);
  expect(histories.length).toBeGreaterThan(0);
});
