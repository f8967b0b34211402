/**
 * The job store's key-value store on Redis, for queue mode: every server and
 * worker, on any machine, shares one Redis and sees the same batches, with
 * the same optimistic concurrency as Deno KV.
 *
 * A key `[...group, last]` is the field `last` of the Redis hash named
 * `prefix + group` (each part as JSON, so `1` and `"1"` differ). The field
 * holds `{"v": versionstamp, "d": value}`. Versionstamps come from one
 * counter, as 20 hex digits that sort in commit order; a commit is one Lua
 * script that checks, takes a versionstamp and writes, all or nothing.
 *
 * ```ts ignore
 * await using kv = await RedisKv.connect("redis://127.0.0.1:6379");
 * const entry = await kv.get<number>(["counters", "sent"]);
 * await kv.atomic().check(entry).set(entry.key, (entry.value ?? 0) + 1).commit();
 * ```
 *
 * @module
 */
import type { Redis } from "ioredis";
import { type Logger, silentLogger } from "../render/log.ts";
import {
  type ClientSettings,
  endClient,
  maskUrl,
  openClient,
  parseRedisUrl,
} from "./redis_client.ts";
import type {
  KvAtomic,
  KvCheck,
  KvEntry,
  KvEntryMaybe,
  KvKey,
  KvSelector,
  KvStore,
} from "../batch/kv_store.ts";

/** Options for {@linkcode RedisKv.connect}. */
export interface RedisKvOptions {
  /**
   * What every Redis key of the store starts with.
   * @default "pressrun:kv:"
   */
  prefix?: string;
  /**
   * Receives a warning for each reconnection attempt and a line when Redis
   * is back.
   * @default silentLogger
   */
  log?: Logger;
  /**
   * How long the first connection may take before Redis counts as
   * unreachable, ms.
   * @default 3000
   */
  connectTimeoutMs?: number;
}

/** Fields read or written at once by a range list. */
const BATCH = 1000;
const COMMIT = "pressrunKvCommit";
/** A commit: the script that runs it and how it is called. */
type CommitClient = Redis & {
  [COMMIT](numKeys: number, ...args: string[]): Promise<string | null>;
};
/**
 * KEYS: the counter, each check's hash, each write's hash. ARGV: the number
 * of checks; per check its field and versionstamp ("" = absent); per write
 * "s" or "d", its field and (for "s") the value's JSON. A stored field reads
 * `{"v":"<20 hex digits>",…`: the versionstamp is at bytes 7 to 26.
 */
const COMMIT_LUA = `
local checks = tonumber(ARGV[1])
local a = 2
for i = 1, checks do
  local raw = redis.call('HGET', KEYS[1 + i], ARGV[a])
  local want = ARGV[a + 1]
  if want == '' then
    if raw then return false end
  elseif not raw or string.sub(raw, 7, 26) ~= want then
    return false
  end
  a = a + 2
end
local vs = string.format('%020x', redis.call('INCR', KEYS[1]))
for k = 2 + checks, #KEYS do
  if ARGV[a] == 's' then
    redis.call('HSET', KEYS[k], ARGV[a + 1],
      '{"v":"' .. vs .. '","d":' .. ARGV[a + 2] .. '}')
  else
    redis.call('HDEL', KEYS[k], ARGV[a + 1])
  end
  a = a + 3
end
return vs
`;

/** One write of a commit. */
type Write = { key: KvKey; value?: string };

/** A {@linkcode KvStore} on one Redis client, shared by many processes. */
export class RedisKv implements KvStore, AsyncDisposable {
  #client: CommitClient;
  #settings: ClientSettings;
  #prefix: string;
  #closed = false;

  private constructor(client: Redis, settings: ClientSettings, prefix: string) {
    client.defineCommand(COMMIT, { lua: COMMIT_LUA });
    this.#client = client as CommitClient;
    this.#settings = settings;
    this.#prefix = prefix;
  }

  /**
   * Connects to the Redis at `url` (`redis://` or `rediss://`, with an
   * optional user, password and database number). Once connected, the
   * client reconnects with backoff whenever Redis goes away, and commands
   * wait for it.
   * @throws {UsageError} If the URL is malformed, or Redis does not answer
   * within `connectTimeoutMs`.
   */
  static async connect(
    url: string,
    options: RedisKvOptions = {},
  ): Promise<RedisKv> {
    const target = parseRedisUrl(url);
    const settings: ClientSettings = {
      options: {
        host: target.host,
        port: target.port,
        db: target.db,
        username: target.username,
        password: target.password,
        tls: target.tls ? { servername: target.host } : undefined,
      },
      url: maskUrl(url),
      log: options.log ?? silentLogger,
      timeoutMs: options.connectTimeoutMs ?? 3000,
    };
    const client = await openClient(settings);
    return new RedisKv(client, settings, options.prefix ?? "pressrun:kv:");
  }

  /** The Redis URL, its password masked. */
  get url(): string {
    return this.#settings.url;
  }

  /** The ioredis client the store uses. */
  get client(): Redis {
    return this.#client;
  }

  /**
   * A new client connected to the same Redis with the same options (for a
   * subscriber, or BullMQ); the caller closes it.
   * @throws {UsageError} If Redis does not answer in time.
   */
  duplicate(): Promise<Redis> {
    return openClient(this.#settings);
  }

  /** The entry at `key`; value and versionstamp null when there is none. */
  async get<T>(key: KvKey): Promise<KvEntryMaybe<T>> {
    const raw = await this.#client.hget(this.#hash(key), encodeLast(key));
    if (raw === null) return { key, value: null, versionstamp: null };
    return decodeEntry<T>(key, raw);
  }

  /** Writes `value` (JSON data) at `key`, with a new versionstamp. */
  async set(key: KvKey, value: unknown): Promise<Deno.KvCommitResult> {
    const write = { key, value: json(key, value) };
    const versionstamp = await this.#commit([], [write]);
    return { ok: true, versionstamp: versionstamp! };
  }

  /** Removes the entry at `key`, if there is one. */
  async delete(key: KvKey): Promise<void> {
    await this.#commit([], [{ key }]);
  }

  /**
   * The entries one part under `prefix` (HSCAN), or those from `start` to
   * `end` (HMGET), in no particular order.
   * @throws {TypeError} For any other selector.
   */
  async *list<T>(selector: KvSelector): AsyncGenerator<KvEntry<T>> {
    if ("prefix" in selector) {
      const group = selector.prefix;
      const hash = this.#group(group);
      const seen = new Set<string>(); // HSCAN may return a field twice.
      let cursor = "0";
      do {
        const [next, flat] = await this.#client.hscan(
          hash,
          cursor,
          "COUNT",
          BATCH,
        );
        for (let i = 0; i + 1 < flat.length; i += 2) {
          const field = flat[i]!;
          if (seen.has(field)) continue;
          seen.add(field);
          yield decodeEntry<T>([...group, JSON.parse(field)], flat[i + 1]!);
        }
        cursor = next;
      } while (cursor !== "0");
      return;
    }
    const { start, end } = selector as { start?: KvKey; end?: KvKey };
    const from = start?.at(-1), to = end?.at(-1);
    if (
      !start || !end || start.length !== end.length ||
      !Number.isInteger(from) || !Number.isInteger(to) ||
      this.#hash(start) !== this.#hash(end)
    ) {
      throw new TypeError(
        "Invalid list selector: expected { prefix }, or { start, end } that differ only in a last whole number",
      );
    }
    const group = start.slice(0, -1), hash = this.#hash(start);
    for (let n = from as number; n < (to as number); n += BATCH) {
      const numbers = range(n, Math.min(n + BATCH, to as number));
      const raws = await this.#client.hmget(hash, ...numbers.map(String));
      for (const [i, raw] of raws.entries()) {
        if (raw !== null) yield decodeEntry<T>([...group, numbers[i]!], raw);
      }
    }
  }

  /** An atomic operation: checks, then writes, committed by one script. */
  atomic(): KvAtomic {
    return new RedisAtomic((checks, writes) => this.#commit(checks, writes));
  }

  /** Closes the connection (QUIT, or at once if Redis is away). Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await endClient(this.#client);
  }

  /** Same as {@linkcode RedisKv.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The new versionstamp, or null if a check failed. */
  #commit(checks: KvCheck[], writes: Write[]): Promise<string | null> {
    const keys = [`${this.#prefix}versionstamp`];
    const args = [String(checks.length)];
    for (const { key, versionstamp } of checks) {
      keys.push(this.#hash(key));
      args.push(encodeLast(key), versionstamp ?? "");
    }
    for (const { key, value } of writes) {
      keys.push(this.#hash(key));
      args.push(value === undefined ? "d" : "s", encodeLast(key), value ?? "");
    }
    return this.#client[COMMIT](keys.length, ...keys, ...args);
  }

  /** The hash holding `key`: the prefix and every part but the last. */
  #hash(key: KvKey): string {
    if (key.length < 2) {
      throw new TypeError(
        `Invalid key ${showKey(key)}: it needs 2 parts or more`,
      );
    }
    checkParts(key);
    return this.#group(key.slice(0, -1));
  }

  /** The hash of the keys that are `group` plus one part. */
  #group(group: KvKey): string {
    if (group.length === 0) throw new TypeError("Cannot list the empty prefix");
    checkParts(group);
    return this.#prefix + JSON.stringify(group);
  }
}

/** An atomic operation on a {@linkcode RedisKv}. */
class RedisAtomic implements KvAtomic {
  #checks: KvCheck[] = [];
  #writes: Write[] = [];
  #run: (checks: KvCheck[], writes: Write[]) => Promise<string | null>;

  constructor(
    run: (checks: KvCheck[], writes: Write[]) => Promise<string | null>,
  ) {
    this.#run = run;
  }

  check(...checks: KvCheck[]): this {
    this.#checks.push(...checks);
    return this;
  }

  set(key: KvKey, value: unknown): this {
    this.#writes.push({ key, value: json(key, value) });
    return this;
  }

  delete(key: KvKey): this {
    this.#writes.push({ key });
    return this;
  }

  async commit(): Promise<Deno.KvCommitResult | Deno.KvCommitError> {
    const versionstamp = await this.#run(this.#checks, this.#writes);
    return versionstamp === null ? { ok: false } : { ok: true, versionstamp };
  }
}

function checkParts(key: KvKey): void {
  for (const part of key) {
    if (typeof part === "string" || Number.isInteger(part)) continue;
    throw new TypeError(
      `Invalid key ${showKey(key)}: parts must be strings or whole numbers`,
    );
  }
}

/** The hash field of a key: its last part as JSON. */
function encodeLast(key: KvKey): string {
  return JSON.stringify(key.at(-1));
}

function json(key: KvKey, value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(
      `Cannot store ${typeof value} at key ${
        showKey(key)
      }: values must be JSON data`,
    );
  }
  return text;
}

function decodeEntry<T>(key: KvKey, raw: string): KvEntry<T> {
  const { v, d } = JSON.parse(raw) as { v: string; d: T };
  return { key, value: d, versionstamp: v };
}

function showKey(key: KvKey): string {
  const parts = key.map((p) =>
    typeof p === "string" ? JSON.stringify(p) : String(p)
  );
  return `[${parts.join(", ")}]`;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
