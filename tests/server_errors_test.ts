import assert from "node:assert/strict";
import { Metrics } from "../batch/metrics.ts";
import { JobStore } from "../batch/store.ts";
import { BatchWorker } from "../batch/worker.ts";
import {
  ConflictError,
  DataError,
  ForbiddenError,
  NotFoundError,
  QueueFullError,
  TemplateError,
  TimeoutError,
  UsageError,
} from "../common/errors.ts";
import { PoolTimeoutError } from "../render/persistent.ts";
import type { Logger } from "../render/log.ts";
import { createHandler } from "../server/api.ts";
import { classify, HttpError } from "../server/errors.ts";
import { MissingFieldsError } from "../template/preflight.ts";
import { EXAMPLE_TEMPLATE, tempDir } from "./_helpers.ts";

const SANITIZED = { sanitizeOps: true, sanitizeResources: true };

Deno.test(
  "classify() maps the error taxonomy to HTTP statuses, and everything else to 500",
  SANITIZED,
  async (t) => {
    const cases: [string, unknown, number, string][] = [
      [
        "TemplateError",
        new TemplateError("Invalid template"),
        422,
        "invalid_input",
      ],
      [
        "DataError",
        new DataError("Cannot read d.csv line 3"),
        422,
        "invalid_input",
      ],
      ["UsageError", new UsageError("onError must be"), 422, "invalid_input"],
      [
        "MissingFieldsError",
        new MissingFieldsError("missing", ["url"]),
        422,
        "missing_columns",
      ],
      ["NotFoundError", new NotFoundError('No batch "x"'), 404, "not_found"],
      ["ForbiddenError", new ForbiddenError("built in"), 403, "forbidden"],
      ["ConflictError", new ConflictError("already done"), 409, "conflict"],
      ["TimeoutError", new TimeoutError("No answer"), 504, "timeout"],
      ["PoolTimeoutError", new PoolTimeoutError("all busy"), 504, "timeout"],
      ["HttpError", new HttpError(413, "too_large", "big"), 413, "too_large"],
      [
        "a bug's TypeError",
        new TypeError("Cannot read properties of undefined (reading 'id')"),
        500,
        "internal",
      ],
      ["SyntaxError", new SyntaxError("Unexpected token"), 500, "internal"],
      ["RangeError", new RangeError("Invalid array length"), 500, "internal"],
      ["plain Error", new Error("Chromium crashed"), 500, "internal"],
      ["a string", "oops", 500, "internal"],
    ];
    for (const [name, error, status, code] of cases) {
      await t.step(`${name}: ${status}`, () => {
        const got = classify(error);
        assert.deepEqual([got.status, got.code], [status, code]);
      });
    }
    await t.step("QueueFullError: 429 with its Retry-After", () => {
      assert.deepEqual(classify(new QueueFullError("busy", 7)), {
        status: 429,
        code: "busy",
        headers: { "retry-after": "7" },
      });
    });
  },
);

/** The real handler over a store in a temporary folder; no browser starts. */
async function server() {
  const dir = await tempDir();
  const store = await JobStore.open(dir.path);
  const worker = new BatchWorker(store);
  const logged: { level: string; message: string; requestId?: unknown }[] = [];
  const log: Logger = (level, message, fields) =>
    logged.push({ level, message, requestId: fields?.requestId });
  const handle = createHandler({ store, worker, metrics: new Metrics(), log });
  return {
    store,
    logged,
    call: (path: string, init?: RequestInit) =>
      handle(new Request(`http://pressrun.test${path}`, init)),
    async [Symbol.asyncDispose]() {
      await worker.close();
      await store.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}

Deno.test(
  "a bug's TypeError in a route is a logged 500 with a request id, not the user's fault",
  SANITIZED,
  async () => {
    await using s = await server();
    s.store.listTemplates = () =>
      Promise.reject(
        new TypeError("Cannot read properties of undefined (reading 'id')"),
      );
    const res = await s.call("/api/templates");
    assert.equal(res.status, 500);
    const body = await res.json();
    assert.equal(body.error, "internal");
    assert.equal(body.message, `Internal error (request ${body.requestId})`);
    assert.equal(res.headers.get("x-request-id"), body.requestId);
    // The cause stays in the log, under the same request id, not in the answer.
    assert.equal(s.logged.length, 1);
    assert.equal(s.logged[0]!.level, "error");
    assert.equal(s.logged[0]!.requestId, body.requestId);
    assert.match(s.logged[0]!.message, /TypeError: Cannot read properties/);
  },
);

Deno.test(
  "cancelling a finished batch or retrying a queued one answers 409 naming the state",
  SANITIZED,
  async () => {
    await using s = await server();
    const batch = () =>
      s.store.createBatch({
        templatePath: EXAMPLE_TEMPLATE,
        template: { name: "Postcard" },
        csv: new TextEncoder().encode("id\n1\n"),
        total: 1,
        options: { renderer: "auto", merge: false, onError: "fail" },
      });
    const queued = await batch();
    let res = await s.call(`/api/batches/${queued.id}/retry`, {
      method: "POST",
    });
    assert.equal(res.status, 409);
    assert.deepEqual(
      [(await res.json()).message],
      [`Batch ${queued.id} is still queued`],
    );
    res = await s.call(`/api/batches/${queued.id}/cancel`, { method: "POST" });
    assert.equal(res.status, 202);
    assert.equal((await res.json()).state, "cancelled");
    res = await s.call(`/api/batches/${queued.id}/cancel`, { method: "POST" });
    assert.equal(res.status, 409);
    const body = await res.json();
    assert.deepEqual(
      [body.error, body.message],
      ["conflict", `Batch ${queued.id} is already cancelled`],
    );
    assert.deepEqual(s.logged, []);
  },
);
