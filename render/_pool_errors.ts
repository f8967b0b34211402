/**
 * The page pool's errors, and the messages the pool fails a record with.
 *
 * @module
 */
import { PressrunError, TimeoutError } from "../common/errors.ts";

/** No tab became free in time, or the pool did not start in time. */
export class PoolTimeoutError extends TimeoutError {
  override name = "PoolTimeoutError";
}

/** The pool has no tab left and cannot open one. */
export class PoolBrokenError extends PressrunError {
  override name = "PoolBrokenError";
}

/** A record's retry found no fresh tab: opening one failed with `error`. */
export function freshPageError(error: unknown): PoolBrokenError {
  return new PoolBrokenError(
    `Cannot open a fresh render page: ${(error as Error).message}`,
    { cause: error },
  );
}

/** Record `index` failed on its tab and again on a fresh one. */
export function twoPagesError(index: number, error: unknown): PressrunError {
  return new PressrunError(
    `Record ${index} failed on two render pages: ${(error as Error).message}`,
    { cause: error },
  );
}
