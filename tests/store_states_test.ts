import assert from "node:assert/strict";
import { ConflictError, NotFoundError } from "../common/errors.ts";
import { type BatchStatus, JobStore } from "../batch/store.ts";
import { EXAMPLE_TEMPLATE, tempDir } from "./_helpers.ts";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };

/** A store in a temporary folder, and a way to queue a batch in it. */
async function storeWithBatch() {
  const dir = await tempDir();
  const store = await JobStore.open(dir.path);
  const queue = () =>
    store.createBatch({
      templatePath: EXAMPLE_TEMPLATE,
      template: { name: "Postcard" },
      csv: new TextEncoder().encode("id\n1\n2\n"),
      total: 2,
      options: { renderer: "auto", merge: false, onError: "skip" },
    });
  return {
    store,
    queue,
    /** Claims the oldest queued batch, as a worker does. */
    run: async () => (await store.claimNext("worker-test", 60_000))!,
    async [Symbol.asyncDispose]() {
      await store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** Asserts `promise` rejects with a ConflictError whose message has `text`. */
async function assertConflict(promise: Promise<unknown>, text: string) {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ConflictError, String(error));
    assert.ok(error.message.includes(text), error.message);
    return true;
  });
}

Deno.test(
  "JobStore.cancel() cancels a queued batch at once and asks a running one to stop",
  SANITIZED,
  async () => {
    await using s = await storeWithBatch();
    const queued = await s.queue();
    const cancelled = await s.store.cancel(queued.id);
    assert.equal(cancelled.state, "cancelled");
    assert.ok(cancelled.finishedAt);

    const other = await s.queue();
    await s.run();
    const asked = await s.store.cancel(other.id);
    assert.deepEqual([asked.state, asked.cancelRequested], ["running", true]);
    // The worker's next heartbeat sees the request.
    assert.equal((await s.store.heartbeat(other.id)).cancelRequested, true);
  },
);

Deno.test(
  "JobStore.cancel() of a finished batch is a ConflictError and changes nothing",
  SANITIZED,
  async () => {
    await using s = await storeWithBatch();
    const { id } = await s.queue();
    await s.run();
    await s.store.finish(id, { state: "failed", error: "Chromium is gone" });
    const before = await s.store.batch(id);
    await assertConflict(s.store.cancel(id), `Batch ${id} is already failed`);
    assert.deepEqual(await s.store.batch(id), before);
    await assert.rejects(s.store.cancel("nope"), NotFoundError);
  },
);

Deno.test(
  "JobStore.retry() queues a finished batch with failures again, and refuses the others",
  SANITIZED,
  async () => {
    await using s = await storeWithBatch();
    const { id } = await s.queue();
    await assertConflict(s.store.retry(id), `Batch ${id} is still queued`);
    await s.run();
    await assertConflict(s.store.retry(id), "is still running");
    await s.store.finish(id, {
      state: "done",
      total: 2,
      failed: 0,
      mode: "persistent",
      merged: false,
    });
    await assertConflict(s.store.retry(id), "has no failed records");

    const failing = await s.queue();
    await s.run();
    await s.store.finish(failing.id, {
      state: "done",
      total: 2,
      failed: 1,
      mode: "cluster",
      merged: false,
    });
    const retried = await s.store.retry(failing.id);
    assert.deepEqual(
      [retried.state, retried.failed, retried.error, retried.finishedAt],
      ["queued", 0, undefined, undefined],
    );
  },
);

Deno.test(
  "JobStore.finish() writes what the run came to: done, failed or cancelled",
  SANITIZED,
  async (t) => {
    await using s = await storeWithBatch();
    const finished = async (
      end: Parameters<JobStore["finish"]>[1],
    ): Promise<BatchStatus> => {
      const { id } = await s.queue();
      await s.run();
      await s.store.progress(id, {
        done: 1,
        total: 2,
        failed: 1,
        mode: "persistent",
        rate: 3.14159,
        etaMs: 1234.5,
      });
      return await s.store.finish(id, end);
    };
    await t.step("done with failures names how many", async () => {
      const status = await finished({
        state: "done",
        total: 2,
        failed: 1,
        mode: "persistent",
        merged: true,
      });
      assert.deepEqual(
        [status.state, status.done, status.failed, status.eta, status.merged],
        ["done", 2, 1, 0, true],
      );
      assert.equal(status.error, "1 records failed");
      assert.ok(status.finishedAt);
    });
    await t.step("failed keeps the count so far unless told", async () => {
      const status = await finished({ state: "failed", error: "No pages" });
      assert.deepEqual(
        [status.state, status.failed, status.error],
        ["failed", 1, "No pages"],
      );
    });
    await t.step("cancelled", async () => {
      const status = await finished({ state: "cancelled" });
      assert.equal(status.state, "cancelled");
      assert.equal(status.rate, 3.1);
    });
  },
);

Deno.test(
  "JobStore.requeue() puts a running batch back for the next worker to resume",
  SANITIZED,
  async () => {
    await using s = await storeWithBatch();
    const { id } = await s.queue();
    assert.equal((await s.run()).worker, "worker-test");
    const requeued = await s.store.requeue(id);
    assert.deepEqual([requeued.state, requeued.worker], ["queued", undefined]);
    assert.equal((await s.run()).id, id);
  },
);
