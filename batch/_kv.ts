/**
 * Deno KV shared by processes: SQLite lets one writer at a time, and Deno KV
 * answers a write that finds the file locked by another process with
 * "database is locked" instead of waiting. {@linkcode retryBusy} waits and
 * tries again.
 *
 * @module
 */

/** How long {@linkcode retryBusy} keeps trying, ms. */
const BUSY_TIMEOUT_MS = 5000;

/** Whether `error` is SQLite's SQLITE_BUSY as Deno KV reports it. */
export function isBusy(error: unknown): boolean {
  // A bare TypeError with no code: the message is all there is to tell it by.
  return error instanceof Error &&
    error.message.includes("database is locked");
}

/**
 * `operation()`, called again after a short random pause while it fails
 * because another process holds the KV file's write lock, for up to 5 s.
 */
export async function retryBusy<T>(operation: () => Promise<T>): Promise<T> {
  const until = Date.now() + BUSY_TIMEOUT_MS;
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!isBusy(error) || Date.now() > until) throw error;
      await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
    }
  }
}
