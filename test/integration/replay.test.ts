import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { testWorkflowBundle } from '../helpers/temporal';

/**
 * Replays every recorded history in test/fixtures/histories on the current workflow code. The
 * recorders beside it (record-histories.ts, record-task-histories.ts,
 * record-validation-histories.ts) write them as binary protobuf (JSON cannot carry update events).
 * A failure means a change would break runs already in flight: guard it with `patched()`
 * rather than re-recording.
 */
const DIR = path.join(__dirname, '../fixtures/histories');

// Every workflow the worker registers has at least one recorded run.
const WORKFLOW_TYPES = ['preAnnotation', 'batchCoverage', 'validation', 'reviewAssignment', 'conflictResolution'];

test('every recorded history replays deterministically on the current workflow code', async () => {
  installTemporalRuntime(createLogger({ LOG_LEVEL: 'warn', NODE_ENV: 'test' }));
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.history.bin')).sort();
  const workflowBundle = await testWorkflowBundle();
  const replayedTypes = new Set<string>();
  for (const file of files) {
    const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
    expect(history.events.length).toBeGreaterThan(10);
    const type = history.events[0].workflowExecutionStartedEventAttributes?.workflowType?.name;
    await expect(Worker.runReplayHistory({ workflowBundle }, history, file)).resolves.toBeUndefined();
    if (type) replayedTypes.add(type);
  }
  expect([...replayedTypes].sort()).toEqual([...WORKFLOW_TYPES].sort());
});
