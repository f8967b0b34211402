/**
 * Like `Promise.all`, but waits for every promise to settle before throwing
 * the first error, so no file read is left running after a failure.
 */
export async function allSettledOrThrow<T>(
  promises: readonly Promise<T>[],
): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
