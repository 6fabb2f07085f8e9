/**
 * The suite's order: jest's own (failed and slow files first), except test/replay-last/, which
 * replays the histories every other file produced and so must run after all of them.
 */
const Sequencer = require('@jest/test-sequencer').default;

const isLast = (test) => test.path.includes(`${require('node:path').sep}replay-last${require('node:path').sep}`);

class SuiteSequencer extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    return [...sorted.filter((t) => !isLast(t)), ...sorted.filter(isLast)];
  }
}

module.exports = SuiteSequencer;
