/**
 * The suite's order: the longest files first, so that with parallel workers (scripts/run-tests.js)
 * no long file starts near the end and leaves the other workers idle. Jest orders by the times
 * of the previous run in its cache; a fresh clone (CI) has none and would order by file size, so
 * the files known to be long come first while the cache has no time for them. test/replay-last/ replays the histories every
 * other file produced, so it goes last (in a run with --runInBand; `npm test` runs it apart).
 */
const path = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

/** The longest files, longest first (about 100, 80 and 80 s alone on the 2-core machine). */
const KNOWN_LONG = [
  'test/e2e/dev-restart.test.ts',
  'test/integration/ledger-durability.test.ts',
  'test/integration/pre-annotation-fault-mix.test.ts',
].map((f) => path.join(__dirname, '../..', f));

const isLast = (test) => test.path.includes(`${path.sep}replay-last${path.sep}`);

class SuiteSequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    const long = KNOWN_LONG.flatMap((p) => sorted.filter((t) => t.path === p && t.duration == null));
    const rest = sorted.filter((t) => !long.includes(t) && !isLast(t));
    return [...long, ...rest, ...sorted.filter(isLast)];
  }
}

module.exports = SuiteSequencer;
