#!/usr/bin/env node
/**
 * The jest part of `npm test`, in three runs that share one folder of saved workflow histories:
 *
 *   1. parallel: every file not named below, in TEST_WORKERS jest workers (default 3: measured
 *      fastest on the 2-core machine against 2 and 4, see docs/DEVELOPING.md);
 *   2. serial: the files that cannot run beside others, one at a time;
 *   3. replay-last: test/replay-last/ replays every history runs 1 and 2 saved. With parallel
 *      workers no sequencer can make a file run last, so it is a run of its own.
 *
 * Every run goes on after a failed one (all failures are reported at once); the exit code is
 * non-zero when any failed. Arguments after `npm test --` go to every run (e.g. `--silent`).
 */
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** Files that run alone, and why (a path relative to the checkout). */
const SERIAL_FILES = {
  // Assert upper bounds of a few hundred ms on real timers and fake-server latencies.
  'test/integration/llm-switcher.test.ts': 'elapsed-time bounds',
  'test/integration/llm-switcher-retries.test.ts': 'elapsed-time bounds (< 500 ms)',
  'test/integration/llm-switcher-stages.test.ts': 'elapsed-time bounds',
  'test/integration/ws-replay.test.ts': 'replay within 2.5 s',
  'test/integration/ws-hub.test.ts': 'elapsed-time bounds',
  'test/unit/api/hostile-input.test.ts': 'answers within 1 s',
  'test/integration/api-items.test.ts': 'imports 100,000 items within 30 s (CPU-bound)',
  // Reads the spend right after the job pauses again; on a busy CPU that read came short of the budget.
  'test/e2e/pre-annotation-budget-http.test.ts': 'progress read against a pause, racy under load',
  // Five service processes and a Temporal server of its own against a provider that enforces an rpm.
  'test/e2e/shared-rate-limit-processes.test.ts': 'throughput against a provider-side limit, heavy',
};

const workers = process.env.TEST_WORKERS ?? '3';
const extraArgs = process.argv.slice(2);
const serial = Object.keys(SERIAL_FILES); // never empty: jest --runTestsByPath without paths runs everything
const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const runs = [
  {
    name: 'parallel',
    args: [`--maxWorkers=${workers}`, ...['/node_modules/', '/replay-last/', ...serial.map((f) => `${escape(f)}$`)].map((p) => `--testPathIgnorePatterns=${p}`)],
  },
  { name: 'serial', args: ['--runInBand', '--runTestsByPath', ...serial] },
  { name: 'replay-last', args: ['--runInBand', 'test/replay-last'] },
];

const historiesDir = process.env.ANNO_SUITE_HISTORIES_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'anno-suite-histories-'));
const env = { ...process.env, ANNO_SUITE_HISTORIES_DIR: historiesDir };
const jest = require.resolve('jest/bin/jest');
const summary = [];
let failed = false;
for (const run of runs) {
  const started = Date.now();
  console.log(`\n== jest: ${run.name} ==`);
  const result = spawnSync(process.execPath, [jest, ...run.args, ...extraArgs], { cwd: ROOT, env, stdio: 'inherit' });
  const ok = result.status === 0;
  failed ||= !ok;
  summary.push(`${run.name} ${ok ? 'passed' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
if (!process.env.ANNO_SUITE_HISTORIES_DIR) fs.rmSync(historiesDir, { recursive: true, force: true });
console.log(`\n== jest runs: ${summary.join('; ')} ==`);
process.exit(failed ? 1 : 0);
