/**
 * Abort and timer plumbing for the HTTP client. Web-standard only: it uses
 * `AbortSignal.any` and `AbortSignal.timeout` where the runtime has them
 * (Node >= 20.3, workerd, current browsers) and an equivalent fallback built
 * on `AbortController` and `setTimeout` where it does not.
 */

/**
 * Waits `ms` milliseconds. Rejects with `signal.reason` as soon as `signal`
 * aborts (the timer is cleared).
 *
 * @example
 * await sleep(100, AbortSignal.timeout(1000)); // the client's default `sleep`
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settles like `promise`, except that it rejects with `signal.reason` as soon
 * as `signal` aborts. Used around injected sleeps, which may ignore the signal.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** One attempt's signal: the caller's signal and the attempt timeout, combined. */
export interface AttemptSignal {
  /** Aborts when the caller aborts or the timeout fires; undefined when there is neither. */
  readonly signal: AbortSignal | undefined;
  /** True once the timeout (not the caller) aborted the attempt. */
  timedOut(): boolean;
  /** Releases the fallback timer and listener, if any. Safe to call twice. */
  dispose(): void;
}

type AbortSignalStatics = {
  any?: (signals: AbortSignal[]) => AbortSignal;
  timeout?: (ms: number) => AbortSignal;
};

/** Whether a timeout value means "time out": finite and positive. */
export const hasTimeout = (ms: number | undefined): ms is number => ms !== undefined && Number.isFinite(ms) && ms > 0;

function timeoutReason(ms: number): unknown {
  const message = `timed out after ${ms} ms`;
  return typeof DOMException === 'function' ? new DOMException(message, 'TimeoutError') : new Error(message);
}

/**
 * Combines the caller's signal with a per-attempt timeout.
 *
 * `useNative: false` forces the fallback path (tests use it to cover runtimes
 * without `AbortSignal.any`/`AbortSignal.timeout`).
 */
export function attemptSignal(caller: AbortSignal | undefined, timeoutMs: number | undefined, useNative = true): AttemptSignal {
  if (!hasTimeout(timeoutMs)) {
    return { signal: caller, timedOut: () => false, dispose: () => {} };
  }
  const statics = AbortSignal as unknown as AbortSignalStatics;
  if (useNative && typeof statics.timeout === 'function' && (caller === undefined || typeof statics.any === 'function')) {
    const timeout = statics.timeout(timeoutMs);
    const signal = caller === undefined ? timeout : statics.any!([caller, timeout]);
    return { signal, timedOut: () => timeout.aborted && !caller?.aborted, dispose: () => {} };
  }

  // Fallback: one controller aborted by either source.
  const controller = new AbortController();
  let fired = false;
  const onCallerAbort = (): void => controller.abort(caller?.reason);
  const timer = setTimeout(() => {
    fired = true;
    controller.abort(timeoutReason(timeoutMs));
  }, timeoutMs);
  if (caller?.aborted) onCallerAbort();
  else caller?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => fired && !caller?.aborted,
    dispose: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    },
  };
}
