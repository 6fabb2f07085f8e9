import { execFileSync } from 'node:child_process';
import { getEventListeners } from 'node:events';
import path from 'node:path';
import { withDeadline } from '../../../src/llm/deadline';
import { EngineCallError } from '../../../src/llm/errors';

test("the caller's abort reaches the call's signal, and its listener is removed afterwards", async () => {
  const caller = new AbortController();
  let seen: AbortSignal | undefined;
  const running = withDeadline(60_000, caller.signal, (signal) => {
    seen = signal;
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  });
  caller.abort(new Error('cancelled by the activity'));
  await expect(running).rejects.toThrow('cancelled by the activity');
  expect(seen!.aborted).toBe(true);
  expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);

  const done = new AbortController();
  await expect(withDeadline(60_000, done.signal, async () => 'answer')).resolves.toBe('answer');
  expect(getEventListeners(done.signal, 'abort')).toHaveLength(0);
});

test('the deadline aborts the call and rejects with a timeout even if the call ignores its signal', async () => {
  let seen: AbortSignal | undefined;
  const err = await withDeadline(30, undefined, (signal) => {
    seen = signal;
    return new Promise(() => undefined);
  }).catch((e) => e);
  expect(err).toBeInstanceOf(EngineCallError);
  expect((err as EngineCallError).outcome).toBe('timeout');
  expect(seen!.aborted).toBe(true);
});

test('a call whose provider leaves a listener on its signal leaks nothing (2,000 calls, then GC)', () => {
  // In a child with --expose-gc: AbortSignal.any kept every such signal alive (1 GB per 100,000 items).
  const probe = path.join(__dirname, '../../fixtures/deadline-leak-probe.ts');
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', probe], { encoding: 'utf8', timeout: 60_000 });
  expect(JSON.parse(out)).toEqual({ calls: 2000, alive: 0 });
});
