import assert from "node:assert/strict";
import { UsageError } from "../common/errors.ts";
import type { LogLevel } from "../render/log.ts";
import { RedisKv } from "../queue/redis_kv.ts";
import { parseRedisUrl } from "../queue/redis_client.ts";
import { freePort, startRedis } from "./_redis.ts";

/** The keys of `entries`, sorted, as JSON (so 1 and "1" stay apart). */
function keysOf(entries: { key: Deno.KvKey }[]): string[] {
  return entries.map((e) => JSON.stringify(e.key)).sort();
}

Deno.test("RedisKv.get() and set() round-trip values under string and number key parts", async () => {
  await using redis = await startRedis();
  await using kv = await RedisKv.connect(redis.url);
  await kv.set(["a", 1], { n: 1, list: [1, "x", true, null] });
  await kv.set(["a", "1"], "string one");
  await kv.set(["a", 1, "deeper"], 42);
  assert.deepEqual((await kv.get(["a", 1])).value, {
    n: 1,
    list: [1, "x", true, null],
  });
  assert.equal((await kv.get(["a", "1"])).value, "string one");
  assert.equal((await kv.get(["a", 1, "deeper"])).value, 42);
  assert.deepEqual(await kv.get(["a", 2]), {
    key: ["a", 2],
    value: null,
    versionstamp: null,
  });
  await kv.delete(["a", 1]);
  assert.equal((await kv.get(["a", 1])).versionstamp, null);
  assert.equal((await kv.get(["a", "1"])).value, "string one");
  await kv.delete(["a", "never written"]);
  await assert.rejects(kv.get(["a", true]), {
    name: "TypeError",
    message: /\["a", true\]/,
  });
  await assert.rejects(kv.set(["a", 1.5], 1), {
    name: "TypeError",
    message: /\["a", 1\.5\]/,
  });
  await assert.rejects(kv.set(["a"], 1), {
    name: "TypeError",
    message: /2 parts/,
  });
});

Deno.test("RedisKv versionstamps increase as strings across commits", async () => {
  await using redis = await startRedis();
  await using kv = await RedisKv.connect(redis.url);
  const stamps: string[] = [];
  for (let i = 0; i < 20; i++) {
    stamps.push((await kv.set(["n", i % 3], i)).versionstamp);
  }
  for (const [i, stamp] of stamps.entries()) {
    assert.match(stamp, /^[0-9a-f]{20}$/);
    if (i > 0) assert.ok(stamp > stamps[i - 1]!, `${stamp} > ${stamps[i - 1]}`);
  }
  assert.equal((await kv.get(["n", 1])).versionstamp, stamps[19]);
});

Deno.test("RedisKv.atomic() commits only while every check holds", async (t) => {
  await using redis = await startRedis();
  await using kv = await RedisKv.connect(redis.url);
  const first = await kv.set(["s", "x"], 1);
  await kv.set(["s", "x"], 2);

  await t.step("a stale versionstamp fails and writes nothing", async () => {
    const result = await kv.atomic()
      .check({ key: ["s", "x"], versionstamp: first.versionstamp })
      .set(["s", "x"], 3)
      .set(["s", "other"], "no")
      .commit();
    assert.deepEqual(result, { ok: false });
    assert.equal((await kv.get(["s", "x"])).value, 2);
    assert.equal((await kv.get(["s", "other"])).versionstamp, null);
  });

  await t.step("a null check fails on an existing key", async () => {
    const result = await kv.atomic()
      .check({ key: ["s", "x"], versionstamp: null })
      .delete(["s", "x"])
      .commit();
    assert.equal(result.ok, false);
    assert.equal((await kv.get(["s", "x"])).value, 2);
  });

  await t.step("a null check passes on a missing key", async () => {
    const result = await kv.atomic()
      .check({ key: ["s", "new"], versionstamp: null })
      .set(["s", "new"], "made")
      .commit();
    assert.equal(result.ok, true);
    assert.equal((await kv.get(["s", "new"])).value, "made");
  });

  await t.step("all writes of a commit share its versionstamp", async () => {
    const x = await kv.get(["s", "x"]);
    const result = await kv.atomic()
      .check(x)
      .set(["s", "x"], 4)
      .set(["t", 7], "elsewhere")
      .delete(["s", "new"])
      .commit();
    assert.ok(result.ok);
    assert.ok(result.versionstamp > x.versionstamp!);
    assert.equal((await kv.get(["s", "x"])).versionstamp, result.versionstamp);
    assert.equal((await kv.get(["t", 7])).versionstamp, result.versionstamp);
    assert.equal((await kv.get(["s", "new"])).versionstamp, null);
  });
});

Deno.test("RedisKv.list({ prefix }) yields exactly the entries one part under the prefix", async () => {
  await using redis = await startRedis();
  await using kv = await RedisKv.connect(redis.url);
  await kv.set(["batches", "a"], { id: "a" });
  await kv.set(["batches", "b"], { id: "b" });
  await kv.set(["batches", 3], { id: 3 });
  await kv.set(["batches", "a", "deeper"], "not listed");
  await kv.set(["batchesX", "c"], "not listed");
  await kv.set(["other", "d"], "not listed");
  const entries = await Array.fromAsync(kv.list({ prefix: ["batches"] }));
  assert.deepEqual(keysOf(entries), [
    '["batches","a"]',
    '["batches","b"]',
    '["batches",3]',
  ]);
  for (const e of entries) {
    assert.deepEqual(e.value, { id: e.key[1] });
    assert.equal(e.versionstamp, (await kv.get(e.key)).versionstamp);
  }
  assert.deepEqual(await Array.fromAsync(kv.list({ prefix: ["none"] })), []);
  // Past 1000 fields, HSCAN pages: each entry still comes exactly once.
  const many = Array.from({ length: 2500 }, (_, i) => i);
  await Promise.all(many.map((i) => kv.set(["pieces", "b1", i], { i })));
  const pieces = await Array.fromAsync(kv.list({ prefix: ["pieces", "b1"] }));
  assert.deepEqual(
    pieces.map((e) => e.key[2] as number).sort((a, b) => a - b),
    many,
  );
});

Deno.test("RedisKv.list({ start, end }) yields only the numbers in range", async () => {
  await using redis = await startRedis();
  await using kv = await RedisKv.connect(redis.url);
  const stored = Array.from({ length: 2500 }, (_, i) => i + 1)
    .filter((i) => i % 7 !== 0);
  await Promise.all(stored.map((i) => kv.set(["pieces", "b", i], { i })));
  await kv.set(["pieces", "b", "1200"], "a string, not a number");
  await kv.set(["pieces", "c", 1200], "another batch");
  const entries = await Array.fromAsync(
    kv.list<{ i: number }>({
      start: ["pieces", "b", 5],
      end: ["pieces", "b", 2005],
    }),
  );
  const expected = stored.filter((i) => i >= 5 && i < 2005);
  assert.deepEqual(entries.map((e) => e.key[2]), expected);
  assert.deepEqual(entries.map((e) => e.value.i), expected);
  for (
    const selector of [
      { start: ["pieces", "b", 1], end: ["pieces", "c", 9] },
      { start: ["pieces", "b", "1"], end: ["pieces", "b", "9"] },
      { start: ["pieces", "b", 1], end: ["pieces", 9] },
      { prefix: [] },
    ]
  ) {
    await assert.rejects(Array.fromAsync(kv.list(selector)), TypeError);
  }
});

Deno.test("RedisKv instances on one server see each other's writes", async () => {
  await using redis = await startRedis();
  await using one = await RedisKv.connect(redis.url);
  await using two = await RedisKv.connect(redis.url);
  assert.equal(one.url, redis.url);
  await one.set(["batches", "x"], { state: "queued" });
  const seen = await two.get<{ state: string }>(["batches", "x"]);
  assert.equal(seen.value?.state, "queued");
  const claimed = await two.atomic().check(seen)
    .set(["batches", "x"], { state: "running" }).commit();
  assert.ok(claimed.ok);
  const late = await one.atomic()
    .check({ key: ["batches", "x"], versionstamp: seen.versionstamp })
    .set(["batches", "x"], { state: "cancelled" }).commit();
  assert.equal(late.ok, false);
  assert.deepEqual((await one.get(["batches", "x"])).value, {
    state: "running",
  });
  const copy = await one.duplicate();
  try {
    assert.equal(await copy.ping(), "PONG");
  } finally {
    await copy.quit();
  }
});

Deno.test("RedisKv optimistic increments from two instances lose none", async () => {
  await using redis = await startRedis();
  await using one = await RedisKv.connect(redis.url);
  await using two = await RedisKv.connect(redis.url);
  let conflicts = 0;
  async function increment(kv: RedisKv) {
    for (;;) {
      const entry = await kv.get<number>(["counters", "n"]);
      const result = await kv.atomic().check(entry)
        .set(["counters", "n"], (entry.value ?? 0) + 1).commit();
      if (result.ok) return;
      conflicts++;
    }
  }
  async function fifty(kv: RedisKv) {
    await Promise.all(Array.from({ length: 50 }, () => increment(kv)));
  }
  await Promise.all([fifty(one), fifty(two)]);
  assert.equal((await one.get(["counters", "n"])).value, 100);
  assert.ok(conflicts > 0, "the increments should have collided");
});

Deno.test("RedisKv.connect() throws UsageError fast when nothing listens", async () => {
  const port = freePort();
  const started = Date.now();
  const error = await RedisKv.connect(`redis://127.0.0.1:${port}`)
    .then(() => undefined, (e) => e);
  assert.ok(error instanceof UsageError, String(error));
  assert.equal(
    error.message,
    `Cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
  );
  assert.ok(Date.now() - started < 5000);
});

Deno.test("RedisKv.connect() throws UsageError when the server stays silent", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) accepted.push(conn);
  })();
  const url = `redis://127.0.0.1:${listener.addr.port}`;
  const started = Date.now();
  await assert.rejects(
    RedisKv.connect(url, { connectTimeoutMs: 300 }),
    UsageError,
    `Cannot reach Redis at ${url}: no answer within 300 ms`,
  );
  assert.ok(Date.now() - started < 2000);
  listener.close();
  await accepting.catch(() => {});
  for (const conn of accepted) conn.close();
});

Deno.test("parseRedisUrl() reads redis:// and rediss:// URLs and names a bad one", async (t) => {
  assert.deepEqual(parseRedisUrl("redis://127.0.0.1:6380/2"), {
    host: "127.0.0.1",
    port: 6380,
    db: 2,
    username: undefined,
    password: undefined,
    tls: false,
  });
  assert.deepEqual(parseRedisUrl("rediss://queue:p%40ss@redis.example"), {
    host: "redis.example",
    port: 6379,
    db: 0,
    username: "queue",
    password: "p@ss",
    tls: true,
  });
  assert.equal(parseRedisUrl("redis://:secret@[::1]:7000").host, "::1");
  for (
    const url of [
      "http://127.0.0.1:6379",
      "127.0.0.1:6379",
      "redis://127.0.0.1:99999",
      "redis://127.0.0.1:port",
      "redis://127.0.0.1:6379/db",
    ]
  ) {
    await t.step(url, async () => {
      await assert.rejects(
        RedisKv.connect(url),
        (error: Error) =>
          error instanceof UsageError &&
          error.message.startsWith(`Invalid Redis URL "${url}"`),
      );
    });
  }
  assert.throws(
    () => parseRedisUrl("redis://user:hunter2@host:x"),
    (error: Error) =>
      error instanceof UsageError && error.message.includes("user:***@") &&
      !error.message.includes("hunter2"),
  );
});

Deno.test("RedisKv keeps committed data and reconnects after Redis is killed with -9", async () => {
  await using redis = await startRedis({ appendonly: true });
  const logs: [LogLevel, string][] = [];
  await using kv = await RedisKv.connect(redis.url, {
    log: (level, message) => logs.push([level, message]),
  });
  const before = await kv.set(["batches", "kept"], { state: "running" });
  await redis.kill9();
  const writing = kv.set(["batches", "after"], { state: "queued" });
  await new Promise((r) => setTimeout(r, 300));
  await redis.restart();
  const after = await writing;
  assert.ok(after.versionstamp > before.versionstamp);
  assert.deepEqual(await kv.get(["batches", "kept"]), {
    key: ["batches", "kept"],
    value: { state: "running" },
    versionstamp: before.versionstamp,
  });
  await using fresh = await RedisKv.connect(redis.url);
  const listed = await Array.fromAsync(fresh.list({ prefix: ["batches"] }));
  assert.deepEqual(keysOf(listed), [
    '["batches","after"]',
    '["batches","kept"]',
  ]);
  const warning = logs.find(([level]) => level === "warn");
  assert.match(
    warning?.[1] ?? "",
    new RegExp(
      `^Redis at ${redis.url} unreachable \\(.+\\); retrying in \\d+ ms$`,
    ),
  );
  assert.ok(
    logs.some(([level, m]) =>
      level === "info" && m.includes("reachable again")
    ),
  );
});

Deno.test("RedisKv.close() while Redis is away fails the waiting commands and leaves nothing behind", async () => {
  await using redis = await startRedis();
  const kv = await RedisKv.connect(redis.url);
  await redis.kill9();
  const failed = assert.rejects(
    kv.set(["batches", "lost"], { state: "queued" }),
    /Connection is closed/,
  );
  await new Promise((r) => setTimeout(r, 300));
  await kv.close();
  await kv.close();
  await failed;
  assert.equal(kv.client.status, "end");
});
