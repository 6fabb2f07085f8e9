import { timeoutError } from './errors';

/**
 * Runs `fn` with a signal that aborts after `ms` (or when the caller's signal does), and rejects
 * with a timeout EngineCallError at the deadline even if `fn` ignores its signal.
 */
export async function withDeadline<T>(ms: number, callerSignal: AbortSignal | undefined, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const signal = callerSignal ? AbortSignal.any([controller.signal, callerSignal]) : controller.signal;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = timeoutError(ms);
      controller.abort(err);
      reject(err);
    }, ms);
    if (callerSignal) {
      onAbort = () => reject(callerSignal.reason instanceof Error ? callerSignal.reason : new Error('aborted'));
      callerSignal.addEventListener('abort', onAbort, { once: true });
    }
  });
  deadline.catch(() => undefined);
  try {
    return await Promise.race([fn(signal), deadline]);
  } catch (err) {
    // A provider may report our own abort as a generic abort error: it was the deadline.
    if (controller.signal.aborted && !callerSignal?.aborted) throw timeoutError(ms);
    throw err;
  } finally {
    clearTimeout(timer);
    if (onAbort) callerSignal?.removeEventListener('abort', onAbort);
  }
}
