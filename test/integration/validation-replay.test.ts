import fs from 'node:fs';
import path from 'node:path';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createLogger } from '../../src/logger';
import { installTemporalRuntime } from '../../src/temporal/runtime';
import { testWorkflowBundle } from '../helpers/temporal';

/**
 * The recorded `validation` runs (test/fixtures/record-validation-histories.ts: two runs joined by
 * continue-as-new) replay on the current workflow code. A failure means a change would break runs
 * in flight: guard it with `patched()` rather than re-recording.
 */
const DIR = path.join(__dirname, '../fixtures/histories');

test('recorded validation histories replay deterministically', async () => {
  installTemporalRuntime(createLogger({ LOG_LEVEL: 'warn', NODE_ENV: 'test' }));
  const files = fs.readdirSync(DIR).filter((f) => /^validation-run-\d+\.history\.bin$/.test(f)).sort();
  expect(files).toEqual(['validation-run-1.history.bin', 'validation-run-2.history.bin']);
  const workflowBundle = await testWorkflowBundle();
  for (const file of files) {
    const history = temporal.api.history.v1.History.decode(fs.readFileSync(path.join(DIR, file)));
    const types = history.events!.map((e) => e.eventType);
    expect(types.length).toBeGreaterThan(10);
    await expect(Worker.runReplayHistory({ workflowBundle }, history, file)).resolves.toBeUndefined();
  }
});
