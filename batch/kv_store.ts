/**
 * The key-value contract the job store is written against: the part of
 * Deno KV it uses. `Deno.Kv` is one implementation (the embedded default, a
 * file in the data folder); `queue/redis_kv.ts` is the other (queue mode:
 * every server and worker shares one Redis). Keys are arrays of strings and
 * numbers; a key's entries are listed by the prefix of all but its last
 * part, or by a range of numbers in that last part.
 *
 * Each entry has a versionstamp, a string that changes with every write of
 * it; an atomic operation commits only if every checked key still has the
 * versionstamp it was read with (`null`: the key must not exist), and then
 * all its writes land together and share the commit's new versionstamp.
 *
 * @module
 */

/** A key: Deno KV's. The Redis store takes strings and whole numbers. */
export type KvKey = Deno.KvKey;

/** An entry as read; `value` and `versionstamp` are null when absent. */
export type KvEntryMaybe<T> = Deno.KvEntryMaybe<T>;

/** An entry that exists. */
export type KvEntry<T> = Deno.KvEntry<T>;

/** What an atomic operation checks: the key has this versionstamp. */
export type KvCheck = Deno.AtomicCheck;

/** Which entries to list. */
export type KvSelector =
  /** Every entry whose key is `prefix` plus one more part. */
  | { prefix: KvKey }
  /**
   * Entries from `start` (included) to `end` (left out): two keys that
   * differ only in their last part, a whole number.
   */
  | { start: KvKey; end: KvKey };

/** An atomic operation being built: checks, then writes. */
export interface KvAtomic {
  check(...checks: KvCheck[]): this;
  set(key: KvKey, value: unknown): this;
  delete(key: KvKey): this;
  /** Commits if every check holds; otherwise changes nothing. */
  commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError>;
}

/** The job store's key-value store. */
export interface KvStore {
  get<T>(key: KvKey): Promise<KvEntryMaybe<T>>;
  set(key: KvKey, value: unknown): Promise<Deno.KvCommitResult>;
  delete(key: KvKey): Promise<void>;
  /** The entries `selector` names, in no particular order. */
  list<T>(selector: KvSelector): AsyncIterable<KvEntry<T>>;
  atomic(): KvAtomic;
  close(): void;
}
