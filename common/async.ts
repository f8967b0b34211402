/**
 * Small named async primitives, so a race against a timer or a signal, a
 * sleep, or a bounded parallel loop reads as what it is instead of being
 * written inline each time. Modelled on std's `async/` (`deadline`,
 * `abortable`, `delay`, `pooledMap`), with pressrun's own errors.
 *
 * ```ts ignore
 * const version = await deadline(browser.version(), 5_000);
 * for await (const page of pooledMap(4, records, render)) merged.add(page);
 * ```
 *
 * @module
 */
import { TimeoutError } from "./errors.ts";

/**
 * `promise`, or a rejection with `signal.reason` as soon as `signal` aborts,
 * whichever comes first. Without a signal, `promise` itself. The listener is
 * removed when either settles; `promise` is not cancelled, only no longer
 * waited for (a later rejection of it is handled).
 */
export function abortable<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  const aborted = Promise.withResolvers<never>();
  const onAbort = () => aborted.reject(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  return Promise.race([promise, aborted.promise]).finally(() =>
    signal.removeEventListener("abort", onAbort)
  );
}

/** Options for {@linkcode deadline}. */
export interface DeadlineOptions {
  /**
   * The error to reject with once the time is up.
   * @default () => new TimeoutError("No answer within {ms} ms")
   */
  error?: () => Error;
  /** Stop waiting earlier, with the signal's reason, when it aborts. */
  signal?: AbortSignal;
}

/**
 * `promise`, or a rejection once `ms` pass (a {@linkcode TimeoutError} unless
 * `options.error` makes another), whichever comes first. The timer is
 * cleared as soon as either settles, so nothing outlives the call.
 */
export async function deadline<T>(
  promise: Promise<T>,
  ms: number,
  options: DeadlineOptions = {},
): Promise<T> {
  const expiry = new AbortController();
  const makeError = options.error ??
    (() => new TimeoutError(`No answer within ${ms} ms`));
  const timer = setTimeout(() => expiry.abort(makeError()), ms);
  const signal = options.signal
    ? AbortSignal.any([options.signal, expiry.signal])
    : expiry.signal;
  try {
    return await abortable(promise, signal);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves after `ms`; rejects with `signal.reason` as soon as `signal`
 * aborts (the timer is cleared then).
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  const { promise, resolve } = Promise.withResolvers<void>();
  const timer = setTimeout(resolve, ms);
  return abortable(promise, signal).finally(() => clearTimeout(timer));
}

/** Options for {@linkcode pooledMap}. */
export interface PooledMapOptions {
  /**
   * Yield results in the order of the items (`true`), or as each call
   * finishes (`false`). Either way `limit` calls run at once: a slow call
   * only holds back the results after it, not the calls.
   * @default true
   */
  ordered?: boolean;
}

/**
 * Calls `fn` on each item, at most `limit` calls at a time, and yields the
 * results. The next item is taken only when a call finishes, so a source
 * that checks a stop condition when asked for its next item stops the loop.
 *
 * If `fn` (or the source) throws, no further item is taken and the iterator
 * throws that first error once every call already started has settled.
 * Leaving the loop early (`break`, or a throw in its body) likewise takes no
 * further item and waits for the calls in flight: none is cut off.
 */
export async function* pooledMap<T, R>(
  limit: number,
  items: Iterable<T> | AsyncIterable<T>,
  fn: (item: T) => R | Promise<R>,
  options: PooledMapOptions = {},
): AsyncGenerator<R, void, undefined> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a whole number ≥ 1, got ${limit}`);
  }
  const ordered = options.ordered ?? true;
  const changed = new Changes();
  // Finished results not yet yielded, by item number (insertion order is
  // finishing order).
  const results = new Map<number, R>();
  let running = 0;
  let failure: { error: unknown } | undefined;
  let leaving = false;
  let fed = false;

  const feed = async () => {
    const source = Symbol.asyncIterator in items
      ? items[Symbol.asyncIterator]()
      : items[Symbol.iterator]();
    let started = 0;
    let ended = false;
    try {
      while (!leaving && !failure) {
        if (running >= limit) {
          await changed.next();
          continue;
        }
        const next = await source.next();
        if (next.done) {
          ended = true;
          break;
        }
        if (leaving) break;
        const index = started++;
        running++;
        Promise.resolve(next.value).then(fn).then(
          (value) => void results.set(index, value),
          (error) => void (failure ??= { error }),
        ).finally(() => {
          running--;
          changed.notify();
        });
      }
    } catch (error) {
      failure ??= { error };
      ended = true; // a source that threw is finished
    }
    while (running > 0) await changed.next();
    if (!ended) {
      try {
        await source.return?.();
      } catch (error) {
        failure ??= { error };
      }
    }
    fed = true;
    changed.notify();
  };

  const feeding = feed();
  try {
    let nextIndex = 0;
    for (;;) {
      if (failure) {
        if (fed) throw failure.error;
      } else if (ordered ? results.has(nextIndex) : results.size > 0) {
        const index = ordered ? nextIndex++ : results.keys().next().value!;
        const value = results.get(index)!;
        results.delete(index);
        yield value;
        continue;
      } else if (fed) {
        return;
      }
      await changed.next();
    }
  } finally {
    leaving = true;
    changed.notify();
    await feeding;
  }
}

/** A wake-up for loops that wait until some shared state changed. */
class Changes {
  #waiting: PromiseWithResolvers<void> | undefined;

  /** Resolves at the next {@linkcode notify}. */
  next(): Promise<void> {
    this.#waiting ??= Promise.withResolvers<void>();
    return this.#waiting.promise;
  }

  /** Wakes everyone waiting in {@linkcode next}. */
  notify(): void {
    this.#waiting?.resolve();
    this.#waiting = undefined;
  }
}
