import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { testWorkflowBundle } from '../helpers/temporal';

/**
 * Replays the recorded reviewAssignment / conflictResolution histories (made by
 * test/fixtures/record-task-histories.ts; binary protobuf because they contain update events) on
 * the current workflow code. A failure means a change would break runs in flight: guard it with
 * `patched()` rather than re-recording.
 */
const DIR = path.join(__dirname, '../fixtures/histories');

test('recorded task and conflict histories replay deterministically', async () => {
  installTemporalRuntime(createLogger({ LOG_LEVEL: 'warn', NODE_ENV: 'test' }));
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.history.bin'));
  expect(files.sort()).toEqual(['conflict-resolution-1.history.bin', 'review-assignment-1.history.bin']);
  const workflowBundle = await testWorkflowBundle();
  for (const file of files) {
    const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
    expect(history.events.length).toBeGreaterThan(20);
    await expect(Worker.runReplayHistory({ workflowBundle }, history, file)).resolves.toBeUndefined();
  }
});
