import { timeoutError } from './errors';

/**
 * Runs `fn` with a signal that aborts after `ms` (or when the caller's signal does), and rejects
 * with a timeout EngineCallError at the deadline even if `fn` ignores its signal.
 *
 * The signal is a plain AbortController's, the caller's abort forwarded by a listener removed
 * afterwards — not AbortSignal.any: Node keeps a composite signal that has an 'abort' listener
 * alive until it aborts, and the provider SDKs add one they never remove, so every call leaked
 * its signal, controller and listeners (about 4 KB a call: 1 GB of worker heap per 100,000 items).
 */
export async function withDeadline<T>(ms: number, callerSignal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = timeoutError(ms);
      controller.abort(err);
      reject(err);
    }, ms);
    if (callerSignal) {
      onAbort = () => {
        controller.abort(callerSignal.reason);
        reject(callerSignal.reason instanceof Error ? callerSignal.reason : new Error('aborted'));
      };
      if (callerSignal.aborted) onAbort();
      else callerSignal.addEventListener('abort', onAbort, { once: true });
    }
  });
  deadline.catch(() => undefined);
  try {
    return await Promise.race([fn(controller.signal), deadline]);
  } catch (err) {
    // A provider may report our own abort as a generic abort error: it was the deadline.
    if (controller.signal.aborted && !callerSignal?.aborted) throw timeoutError(ms);
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) callerSignal?.removeEventListener('abort', onAbort);
  }
}
