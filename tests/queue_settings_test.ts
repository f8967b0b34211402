/**
 * Queue mode's flags as serve and worker read them: the Redis URL from the
 * flag or the environment, the chunk size, the stale-after time and the
 * global rate limit, and the errors naming the flag.
 */
import { strict as assert } from "node:assert";
import { UsageError } from "../common/errors.ts";
import { DEFAULT_CHUNK_RECORDS } from "../queue/batch_queue.ts";
import { queueSettings } from "../queue/mode.ts";

const noEnv = { get: () => undefined };

Deno.test("queue flags: none is the embedded store; the URL from --queue or PRESSRUN_REDIS_URL", () => {
  assert.equal(queueSettings({}, noEnv), undefined);
  assert.deepEqual(queueSettings({ queue: "redis://10.0.0.5:6379/2" }, noEnv), {
    url: "redis://10.0.0.5:6379/2",
    chunk: DEFAULT_CHUNK_RECORDS,
    staleAfterMs: undefined,
    rateLimit: undefined,
  });
  const env = {
    get: (name: string) =>
      name === "PRESSRUN_REDIS_URL" ? "redis://r:6379" : undefined,
  };
  assert.equal(queueSettings({}, env)?.url, "redis://r:6379");
  // The flag wins over the environment.
  assert.equal(
    queueSettings({ queue: "redis://q:1" }, env)?.url,
    "redis://q:1",
  );
});

Deno.test("queue flags: --chunk, --stale-after and --rate-limit, and their errors", () => {
  const q = { queue: "redis://127.0.0.1:6379" };
  const s = queueSettings(
    { ...q, chunk: "50", "stale-after": "3", "rate-limit": "10/60" },
    noEnv,
  );
  assert.deepEqual(
    [s?.chunk, s?.staleAfterMs, s?.rateLimit],
    [50, 3000, { max: 10, durationMs: 60_000 }],
  );
  assert.deepEqual(
    queueSettings({ ...q, "rate-limit": "2/0.5s" }, noEnv)?.rateLimit,
    { max: 2, durationMs: 500 },
  );
  const refused = (flags: Record<string, string>, pattern: RegExp) =>
    assert.throws(
      () => queueSettings(flags, noEnv),
      (e: unknown) => e instanceof UsageError && pattern.test(e.message),
    );
  refused({ ...q, chunk: "0" }, /--chunk must be a whole number .* got "0"/);
  refused({ ...q, chunk: "2.5" }, /--chunk/);
  refused({ ...q, "stale-after": "0.5" }, /--stale-after .* got "0.5"/);
  refused(
    { ...q, "rate-limit": "ten a minute" },
    /--rate-limit must be MAX\/SECONDS/,
  );
  refused({ ...q, "rate-limit": "0/60" }, /--rate-limit/);
  // Queue flags without a queue.
  refused({ chunk: "50" }, /--chunk needs --queue/);
  refused({ "rate-limit": "1/1" }, /--rate-limit needs --queue/);
});
