import assert from "node:assert/strict";
import { abortable, deadline, delay, pooledMap } from "../common/async.ts";
import { TimeoutError } from "../common/errors.ts";

/** Turn the ops sanitizer on, so a timer left running fails the test. */
const SANITIZED = { sanitizeOps: true, sanitizeResources: true };

/** A promise settled by hand. */
function later<T>() {
  return Promise.withResolvers<T>();
}

Deno.test(
  "abortable() settles with the promise, or with the signal's reason when it aborts first",
  SANITIZED,
  async (t) => {
    await t.step("without a signal it is the promise", async () => {
      assert.equal(await abortable(Promise.resolve(1), undefined), 1);
    });
    await t.step("the promise first", async () => {
      const controller = new AbortController();
      assert.equal(
        await abortable(Promise.resolve("a"), controller.signal),
        "a",
      );
      controller.abort(new Error("too late")); // no effect, no listener left
    });
    await t.step("the signal first rejects with its reason", async () => {
      const controller = new AbortController();
      const pending = later<string>();
      const raced = abortable(pending.promise, controller.signal);
      const reason = new Error("stop");
      controller.abort(reason);
      await assert.rejects(raced, (error) => error === reason);
      pending.reject(new Error("ignored")); // handled: no unhandled rejection
    });
    await t.step("an aborted signal rejects at once", async () => {
      const pending = later<string>();
      await assert.rejects(
        abortable(pending.promise, AbortSignal.abort(new Error("gone"))),
        { message: "gone" },
      );
      pending.reject(new Error("ignored"));
    });
  },
);

Deno.test(
  "deadline() rejects with a TimeoutError once the time is up, and leaves no timer",
  SANITIZED,
  async (t) => {
    await t.step("in time: the value", async () => {
      assert.equal(await deadline(Promise.resolve(7), 1000), 7);
    });
    await t.step("in time: the promise's own error", async () => {
      await assert.rejects(
        deadline(Promise.reject(new RangeError("bad")), 1000),
        RangeError,
      );
    });
    await t.step("too late: a TimeoutError naming the time", async () => {
      const pending = later<number>();
      await assert.rejects(deadline(pending.promise, 10), (error) => {
        assert.ok(error instanceof TimeoutError);
        assert.equal(error.message, "No answer within 10 ms");
        return true;
      });
      pending.resolve(1);
    });
    await t.step("too late: the caller's own error", async () => {
      class SlowError extends TimeoutError {
        override name = "SlowError";
      }
      await assert.rejects(
        deadline(later<void>().promise, 5, {
          error: () => new SlowError("no page came free"),
        }),
        { name: "SlowError", message: "no page came free" },
      );
    });
    await t.step("a signal that aborts first wins over the timer", async () => {
      const controller = new AbortController();
      const raced = deadline(later<void>().promise, 10_000, {
        signal: controller.signal,
      });
      controller.abort(new Error("cancelled"));
      await assert.rejects(raced, { message: "cancelled" });
    });
  },
);

Deno.test(
  "delay() resolves after the time, or rejects when its signal aborts",
  SANITIZED,
  async () => {
    const t0 = performance.now();
    await delay(20);
    assert.ok(performance.now() - t0 >= 15);
    const controller = new AbortController();
    const sleeping = delay(10_000, controller.signal);
    controller.abort(new Error("woken"));
    await assert.rejects(sleeping, { message: "woken" });
    await assert.rejects(delay(10, AbortSignal.abort(new Error("no"))), {
      message: "no",
    });
  },
);

/** fn for pooledMap: resolves `item * 10` after `item` ms, counting calls in flight. */
function tracked() {
  const state = { running: 0, most: 0, calls: [] as number[] };
  const fn = async (item: number) => {
    state.calls.push(item);
    state.running++;
    state.most = Math.max(state.most, state.running);
    await delay(item);
    state.running--;
    return item * 10;
  };
  return { state, fn };
}

async function collect<T>(iterator: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterator) out.push(value);
  return out;
}

Deno.test(
  "pooledMap() runs at most `limit` calls at once and yields in item order",
  SANITIZED,
  async () => {
    const { state, fn } = tracked();
    const results = await collect(pooledMap(2, [30, 5, 5, 5, 1], fn));
    assert.deepEqual(results, [300, 50, 50, 50, 10]);
    assert.equal(state.most, 2);
  },
);

Deno.test(
  "pooledMap() keeps `limit` calls running while a slow first one holds back the results",
  SANITIZED,
  async () => {
    const { state, fn } = tracked();
    const seen: number[] = [];
    for await (const value of pooledMap(2, [60, 1, 1, 1, 1, 1], fn)) {
      // Every fast item ran beside the slow one before its result came out.
      if (value === 600) assert.deepEqual(state.calls, [60, 1, 1, 1, 1, 1]);
      seen.push(value);
    }
    assert.deepEqual(seen, [600, 10, 10, 10, 10, 10]);
  },
);

Deno.test(
  "pooledMap() with ordered: false yields each result as its call finishes",
  SANITIZED,
  async () => {
    const { fn } = tracked();
    const results = await collect(
      pooledMap(3, [40, 1, 20], fn, { ordered: false }),
    );
    assert.deepEqual(results, [10, 200, 400]);
  },
);

Deno.test(
  "pooledMap() takes items from an async source one at a time, only when a slot is free",
  SANITIZED,
  async () => {
    let taken = 0;
    let stop = false;
    async function* source() {
      for (let i = 1; i <= 100; i++) {
        if (stop) return;
        taken++;
        yield i;
      }
    }
    const results: number[] = [];
    for await (
      const value of pooledMap(2, source(), async (n) => {
        await delay(1);
        if (n === 3) stop = true;
        return n;
      })
    ) results.push(value);
    // Items 1–3 and the one taken while 3 ran; none after the stop.
    assert.ok(taken <= 4, `took ${taken}`);
    assert.deepEqual(results, Array.from({ length: taken }, (_, i) => i + 1));
  },
);

Deno.test(
  "pooledMap() throws the first error after the calls in flight settle, taking no further item",
  SANITIZED,
  async () => {
    const finished: number[] = [];
    const calls: number[] = [];
    const run = collect(
      pooledMap(2, [1, 2, 3, 4, 5], async (n) => {
        calls.push(n);
        if (n === 1) {
          await delay(5);
          throw new Error("record 1 broke");
        }
        await delay(30);
        finished.push(n);
        return n;
      }),
    );
    await assert.rejects(run, { message: "record 1 broke" });
    // 2 was in flight when 1 failed: it finished before the throw.
    assert.deepEqual(finished, [2]);
    assert.deepEqual(calls, [1, 2]);
  },
);

Deno.test(
  "pooledMap() passes on an error of its source, after the calls in flight",
  SANITIZED,
  async () => {
    const finished: number[] = [];
    async function* source() {
      yield 10;
      throw new SyntaxError("Cannot read data.csv line 3");
    }
    await assert.rejects(
      collect(pooledMap(2, source(), async (n) => {
        await delay(n);
        finished.push(n);
        return n;
      })),
      SyntaxError,
    );
    assert.deepEqual(finished, [10]);
  },
);

Deno.test(
  "pooledMap() left early waits for its calls in flight and closes its source",
  SANITIZED,
  async () => {
    const started: number[] = [];
    const finished: number[] = [];
    let closed = false;
    async function* source() {
      try {
        for (let i = 1;; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (
      const value of pooledMap(3, source(), async (n) => {
        started.push(n);
        await delay(n === 1 ? 1 : 20);
        finished.push(n);
        return n;
      })
    ) {
      assert.equal(value, 1);
      break;
    }
    assert.ok(started.length >= 3, `started ${started}`);
    assert.deepEqual(finished.toSorted(), started.toSorted());
    assert.equal(closed, true);
  },
);

Deno.test("pooledMap() refuses a limit below 1", SANITIZED, async () => {
  await assert.rejects(collect(pooledMap(0, [1], (n) => n)), RangeError);
});
