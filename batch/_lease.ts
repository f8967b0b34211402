/**
 * A worker's lease on a running batch, with fencing. Claiming a batch
 * writes its lease key (`["leases", id]`) in the same atomic commit as the
 * status; the commit's versionstamp is the lease's token. Every write the
 * worker makes for the batch afterwards — progress, heartbeat, a piece, the
 * end — checks in its own atomic commit that the lease key still has that
 * versionstamp. A worker that stalled long enough for another to take the
 * batch over finds its token gone at its next write and stops.
 *
 * Used by `JobStore` and by the heartbeat thread, which has a KV handle of
 * its own (so this module imports nothing heavy: the thread type-checks and
 * starts fast).
 *
 * @module
 */
import {
  LeaseLostError,
  NotFoundError,
  PressrunError,
} from "../common/errors.ts";
import { retryBusy } from "./_kv.ts";
import type { KvCheck, KvKey, KvStore } from "./kv_store.ts";

/** A worker's claim on a running batch. */
export interface Lease {
  batch: string;
  worker: string;
  /** The versionstamp of the claim's commit. */
  token: string;
}

/** What the lease key holds (its versionstamp is the token). */
export interface LeaseRecord {
  worker: string;
  /** ms since epoch. */
  claimedAt: number;
}

/** The KV key of a batch's status. */
export function statusKey(batch: string): KvKey {
  return ["batches", batch];
}

/** The KV key of a batch's lease. */
export function leaseKey(batch: string): KvKey {
  return ["leases", batch];
}

/** The atomic check that `lease` is still the batch's lease. */
export function leaseCheck(lease: Lease): KvCheck {
  return { key: leaseKey(lease.batch), versionstamp: lease.token };
}

/** @throws {LeaseLostError} Unless `lease` is still its batch's lease. */
export async function assertLease(kv: KvStore, lease: Lease): Promise<void> {
  const entry = await retryBusy(() =>
    kv.get<LeaseRecord>(leaseKey(lease.batch))
  );
  if (entry.versionstamp === lease.token) return;
  throw new LeaseLostError(
    entry.value
      ? `Batch ${lease.batch} was taken over by ${entry.value.worker}; ${lease.worker} stops`
      : `Batch ${lease.batch} is no longer running under ${lease.worker}`,
  );
}

/** Options for {@linkcode updateStatus}. */
export interface UpdateOptions {
  /** Write only while this lease holds. */
  lease?: Lease;
  /** Also end the lease (the batch stops running under it). */
  release?: boolean;
}

/**
 * Changes a batch's status (of type `S`): read, apply `change`, write —
 * atomically, again while someone else wrote in between.
 * @throws {LeaseLostError} If `options.lease` no longer holds.
 */
export async function updateStatus<S extends object>(
  kv: KvStore,
  id: string,
  change: Partial<S> | ((s: S) => Partial<S>),
  options: UpdateOptions = {},
): Promise<S> {
  const { lease } = options;
  for (let attempt = 0; attempt < 20; attempt++) {
    const entry = await retryBusy(() => kv.get<S>(statusKey(id)));
    if (!entry.value) throw new NotFoundError(`No batch "${id}"`);
    const patch = typeof change === "function" ? change(entry.value) : change;
    const next = { ...entry.value, ...patch };
    const committed = await retryBusy(() => {
      const op = kv.atomic().check(entry).set(statusKey(id), next);
      if (lease) op.check(leaseCheck(lease));
      if (options.release) op.delete(leaseKey(id));
      return op.commit();
    });
    if (committed.ok) return next;
    if (lease) await assertLease(kv, lease);
  }
  throw new PressrunError(`Cannot update batch ${id}: too much contention`);
}
