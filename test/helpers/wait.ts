/**
 * Polls `fn` every 100 ms until `ok` accepts its value, and returns that value; fails with the
 * last value (and `what`, when given) after `timeoutMs`.
 */
export async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what} not met in time: ${JSON.stringify(v)}`.slice(0, 4000));
    await new Promise((r) => setTimeout(r, 100));
  }
}
